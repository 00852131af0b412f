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
        from sqlalchemy import insert, select
        from sqlalchemy.exc import IntegrityError

        from responder.storage.models import RateSlotRow

        if sender in self._known:
            return
        with self.engine.begin() as conn:
            if conn.execute(select(RateSlotRow.sender).where(RateSlotRow.sender == sender)).first() is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(RateSlotRow).values(sender=sender, next_at=0.0))
                except IntegrityError:
                    pass  # another worker created it first
        self._known.add(sender)

    def acquire(self, sender: str) -> float | None:
        from sqlalchemy import case, update

        from responder.storage.models import RateSlotRow

        self._ensure(sender)
        now = self._wall()
        start = case((RateSlotRow.next_at > now, RateSlotRow.next_at), else_=now)
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Every worker's every send goes through this one row, and its lock is held until the commit
                # returns: waiting for the WAL flush (milliseconds) would cap all workers together at a few hundred
                # slots a second. A slot lost in a database crash only lets a few messages go out early once.
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            next_at = conn.execute(update(RateSlotRow).where(RateSlotRow.sender == sender)
                                   .values(next_at=start + self.interval).returning(RateSlotRow.next_at)).scalar_one()
        slot = next_at - self.interval
        wait = slot - self._wall()
        if wait > 0:
            self._sleep(wait)
        return float(slot)
