"""Per-sender throttling: providers refuse (or silently queue) faster sending than their limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class RateLimiter(Protocol):
    def acquire(self, sender: str) -> float | None:
        """Block until one more message may go out from ``sender``; the slot it was given (the limiter's clock),
        None without a limit. Slots are what a limiter controls exactly: the request then still takes the
        scheduler's and the network's time to reach the provider."""
        ...


class Unlimited:
    def acquire(self, sender: str) -> float | None:
        return None


class IntervalLimiter:
    """Spaces sends ``1/rate`` seconds apart per sender, across all threads of this process.

    Threads wait their turn on a per-sender lock and the next slot counts from the moment the
    previous one was actually released, so a thread that wakes late does not bunch with the next
    one; a burst after an idle spell is limited to one message (no bucket to drain at once).
    """

    def __init__(self, rate_per_second: float, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate_per_second
        self._monotonic = monotonic
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._senders: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def acquire(self, sender: str) -> float | None:
        with self._lock:
            turn = self._senders.setdefault(sender, threading.Lock())
        with turn:
            wait = self._next.get(sender, 0.0) - self._monotonic()
            if wait > 0:
                self._sleep(wait)
            slot = self._monotonic()
            self._next[sender] = slot + self.interval
        return slot


class DatabaseLimiter:
    """One rate for all workers on a database: each send takes the next free slot from a shared row.

    A single UPDATE ... RETURNING hands out slots ``1/rate`` apart in order, whichever worker asks;
    the worker then sleeps until its slot. The combined rate can never exceed the limit.
    """

    def __init__(self, engine: Any, rate_per_second: float, wall: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate must be positive")
        self.engine = engine
        self.interval = 1.0 / rate_per_second
        self._wall = wall
        self._sleep = sleep
        self._known: set[str] = set()

    def _ensure(self, sender: str) -> None:
        from responder.storage.rate_slots import ensure_slot_row

        if sender in self._known:
            return
        with self.engine.begin() as conn:
            ensure_slot_row(conn, sender)
        self._known.add(sender)

    def acquire(self, sender: str) -> float | None:
        from responder.storage.rate_slots import take_slot

        self._ensure(sender)
        with self.engine.begin() as conn:
            slot = take_slot(conn, sender, self._wall(), self.interval)
        wait = slot - self._wall()
        if wait > 0:
            self._sleep(wait)
        return slot
