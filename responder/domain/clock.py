"""One clock for the whole program, so that tests and drills can move time by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told: used by tests, drills and benchmarks alike."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = ensure_utc(start) if start else datetime(2026, 7, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        self._now = ensure_utc(when)


def ensure_utc(when: datetime) -> datetime:
    """Refuse naive datetimes: inside responder every time is aware UTC."""
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when.isoformat()} (a time zone is required)")
    return when.astimezone(UTC)
