"""Riding out a lost database: a server restart, a failover, a SQLite write lock held past the busy timeout.

The long-running loops (``dispatch``, and ``serve``'s dispatcher, scheduler lease and jobs) share one
:class:`DatabaseWatch` per process. An error that means "the database is away" (``storage/db_errors.is_outage``)
is logged once when the outage starts and once when it ends, however many loops meet it in between; the loop
waits with exponential backoff and jitter and tries again. Pooled connections are tested before use
(``pool_pre_ping``), so the first try after the server is back gets a fresh connection. Any other error is the
caller's to raise. ``/health`` shows the flag and the counters (:meth:`DatabaseWatch.health`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from responder.domain.redact import redact
from responder.storage.db_errors import first_line, is_busy, is_outage

log = logging.getLogger(__name__)

T = TypeVar("T")
FIRST_WAIT = 0.5


class DatabaseWatch:
    """Whether the database is reachable, as the loops that use it last found it; thread-safe."""

    def __init__(self, url: str, max_wait: float = 30.0, rng: random.Random | None = None) -> None:
        self.url = redact(url)
        self.max_wait = max_wait
        self.rng = rng or random.Random()
        self._lock = threading.Lock()
        self.down_since: float | None = None
        """``time.monotonic()`` when the current outage began; None while the database answers."""
        self.reason: str | None = None
        self.outages = 0
        """Outages seen since the process started (a counter for monitoring)."""
        self.failed_tries = 0
        """Tries that met the outage, all outages together (a counter for monitoring)."""
        self._streak = 0

    @property
    def unreachable(self) -> bool:
        return self.down_since is not None

    def failed(self, exc: BaseException, where: str) -> float | None:
        """Note an error met in ``where``: the seconds to wait before trying again if it is an outage, else None."""
        if not is_outage(exc):
            return None
        with self._lock:
            self.failed_tries += 1
            self._streak += 1
            backoff: float = min(self.max_wait, FIRST_WAIT * 2 ** min(self._streak - 1, 16))
            wait = backoff * (0.5 + self.rng.random() / 2)
            if self.down_since is None:
                self.down_since = time.monotonic()
                self.outages += 1
                self.reason = ("busy (its write lock is held past the busy timeout)" if is_busy(exc)
                               else f"unreachable ({first_line(exc)})")
                log.warning("database %s is %s, met in %s: waiting and retrying with backoff (up to %g s apart)",
                            self.url, self.reason, where, self.max_wait)
        return wait

    def ok(self) -> None:
        """A try succeeded: the outage, if any, is over."""
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is None:
                return
            lasted = time.monotonic() - self.down_since
            log.warning("database %s is reachable again after %.1f s (%d failed tries); carrying on", self.url,
                        lasted, self._streak)
            self.down_since, self.reason, self._streak = None, None, 0

    def retry(self, action: Callable[[], T], where: str, stop: threading.Event | None = None,
              tries: int | None = None) -> T:
        """``action()``, tried again while the database is away (``tries`` at most, then its error is raised)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                result = action()
            except Exception as exc:
                wait = self.failed(exc, where)
                if wait is None or (tries is not None and attempt >= tries) or (stop is not None and stop.is_set()):
                    raise
                if stop is not None:
                    stop.wait(wait)
                else:
                    time.sleep(wait)
                continue
            self.ok()
            return result

    def health(self) -> dict[str, Any]:
        down = self.down_since
        return {"ok": down is None, "unreachable": down is not None, "reason": self.reason,
                "unreachable_seconds": round(time.monotonic() - down, 1) if down is not None else 0.0,
                "outages_total": self.outages, "failed_tries_total": self.failed_tries}
