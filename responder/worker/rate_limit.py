"""Per-sender throttling: providers refuse (or silently queue) faster sending than their limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class RateLimiter(Protocol):
    def acquire(self, sender: str) -> None:
        """Block until one more message may go out from ``sender``."""
        ...


class Unlimited:
    def acquire(self, sender: str) -> None:
        return None


class IntervalLimiter:
    """Spaces sends ``1/rate`` seconds apart per sender, across all threads of this process.

    Slots are handed out in order, so N threads together never exceed the rate, and a burst
    after an idle spell is limited to one message (no bucket to drain at once).
    """

    def __init__(self, rate_per_second: float, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate_per_second
        self._monotonic = monotonic
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def acquire(self, sender: str) -> None:
        with self._lock:
            now = self._monotonic()
            slot = max(now, self._next.get(sender, now))
            self._next[sender] = slot + self.interval
        wait = slot - self._monotonic()
        if wait > 0:
            self._sleep(wait)
