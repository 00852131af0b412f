"""HTTP GET for feeds: a timeout on every attempt, a few retries with backoff, and a size cap.

Only failures that may pass (timeouts, connection errors, 429 and 5xx) are retried; a 404 or 403
will not mend itself within a cycle. Every failure ends as a :class:`FeedError` with a reason a duty
officer can read, never as an httpx exception escaping the reader.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from responder import __version__ as _version

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_BYTES = 64 * 1024 * 1024
USER_AGENT = f"responder/{_version} (flood and drought response)"


class FeedError(Exception):
    """A feed that could not be read at all this cycle; the message says why."""


def fetch(url: str, *, timeout: float, retries: int, client: httpx.Client | None = None,
          backoff: float = 0.5, max_backoff: float = 8.0, max_bytes: int = MAX_BYTES,
          sleep: Callable[[float], None] = time.sleep) -> bytes:
    """The body of ``url``; raises FeedError after ``retries`` further attempts have failed too."""
    own = client is None
    http = client or httpx.Client(headers={"User-Agent": USER_AGENT}, follow_redirects=True)
    attempts = retries + 1
    reason = "no attempt made"
    try:
        for attempt in range(attempts):
            try:
                return _get(http, url, timeout, max_bytes)
            except _Retry as exc:
                reason = str(exc)
            if attempt + 1 < attempts:
                sleep(min(max_backoff, backoff * 2**attempt))
    finally:
        if own:
            http.close()
    raise FeedError(f"{url}: {reason} (after {attempts} attempt{'s' if attempts > 1 else ''})")


class _Retry(Exception):
    pass


def _get(http: httpx.Client, url: str, timeout: float, max_bytes: int) -> bytes:
    try:
        with http.stream("GET", url, timeout=timeout) as response:
            if response.status_code in RETRY_STATUS:
                raise _Retry(f"HTTP {response.status_code} {response.reason_phrase}".strip())
            if response.is_error:
                raise FeedError(f"{url}: HTTP {response.status_code} {response.reason_phrase}".strip())
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise FeedError(f"{url}: response larger than {max_bytes} bytes")
            return bytes(body)
    except httpx.TimeoutException:
        raise _Retry(f"timed out after {timeout:g} s") from None
    except httpx.TransportError as exc:
        raise _Retry(f"unreachable ({type(exc).__name__}: {exc})") from None
    except httpx.HTTPError as exc:
        raise FeedError(f"{url}: {type(exc).__name__}: {exc}") from None
