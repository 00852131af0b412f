"""HTTP GET for feeds: one deadline for the whole fetch, a few retries with backoff, and a size cap.

The feed's ``timeout`` is a deadline, not a per-read timeout: a server that drips one byte every 2 s
never trips a read timeout, so the fetch's sockets are shut down when the deadline passes, whatever
the request is waiting for (the connection, the headers or the body). Retries and their backoff fit
inside the same deadline.

Only failures that may pass (timeouts, connection errors, 429 and 5xx) are retried; a 404 or 403
will not mend itself within a cycle. Every failure ends as a :class:`FeedError` with a reason a duty
officer can read, never as an httpx exception escaping the reader.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from responder import __version__ as _version

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_BYTES = 32 * 1024 * 1024
"""The largest feed document read, over HTTP or from a file: a day of a county's gauges is a few MB."""
USER_AGENT = f"responder/{_version} (flood and drought response)"


class FeedError(Exception):
    """A feed that could not be read at all this cycle; the message says why."""


def fetch(url: str, *, timeout: float, retries: int, client: httpx.Client | None = None,
          backoff: float = 0.5, max_backoff: float = 8.0, max_bytes: int = MAX_BYTES,
          sleep: Callable[[float], None] = time.sleep) -> bytes:
    """The body of ``url`` within ``timeout`` seconds in all; FeedError after ``retries`` further attempts
    have failed too, or when the deadline passes."""
    own = client is None
    http = client or httpx.Client(headers={"User-Agent": USER_AGENT}, follow_redirects=True)
    deadline = time.monotonic() + timeout
    attempts = retries + 1
    reason = "no attempt made"
    made = 0
    try:
        for attempt in range(attempts):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            made += 1
            try:
                return _get(http, url, timeout, remaining, max_bytes)
            except _Retry as exc:
                reason = str(exc)
            if attempt + 1 < attempts:
                sleep(max(0.0, min(max_backoff, backoff * 2**attempt, deadline - time.monotonic())))
    finally:
        if own:
            http.close()
    raise FeedError(f"{url}: {reason} (after {made} attempt{'s' if made > 1 else ''})")


class _Retry(Exception):
    pass


class _Watchdog:
    """Shuts the attempt's sockets down at its deadline: a blocked read then returns at once."""

    def __init__(self, seconds: float) -> None:
        self.sockets: list[socket.socket] = []
        self.fired = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: remember each socket this attempt connects."""
        if event in ("connection.connect_tcp.complete", "connection.connect_unix_socket.complete"):
            found = info["return_value"].get_extra_info("socket")
            if isinstance(found, socket.socket):
                with self._lock:
                    self.sockets.append(found)
                    if self.fired:
                        _shut(found)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self.sockets:
                _shut(sock)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def _get(http: httpx.Client, url: str, timeout: float, remaining: float, max_bytes: int) -> bytes:
    late = FeedError(f"{url}: no complete answer within the feed's timeout of {timeout:g} s")
    with _Watchdog(remaining) as watchdog:
        try:
            with http.stream("GET", url, timeout=remaining, extensions={"trace": watchdog.trace}) as response:
                if response.status_code in RETRY_STATUS:
                    raise _Retry(f"HTTP {response.status_code} {response.reason_phrase}".strip())
                if response.is_error:
                    raise FeedError(f"{url}: HTTP {response.status_code} {response.reason_phrase}".strip())
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FeedError(f"{url}: response larger than {max_bytes} bytes ({declared} announced)")
                end = time.monotonic() + remaining
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise FeedError(f"{url}: response larger than {max_bytes} bytes")
                    if time.monotonic() > end:  # a transport without sockets (a test's) is checked here
                        raise late
                return bytes(body)
        except httpx.TimeoutException:
            if watchdog.fired:
                raise late from None
            raise _Retry(f"timed out after {timeout:g} s") from None
        except httpx.TransportError as exc:
            if watchdog.fired:
                raise late from None
            raise _Retry(f"unreachable ({type(exc).__name__}: {exc})") from None
        except httpx.HTTPError as exc:
            if watchdog.fired:
                raise late from None
            raise FeedError(f"{url}: {type(exc).__name__}: {exc}") from None
