"""Tables for feeds: readings and their hourly totals, conflicts, quarantine, feed status, rule state, reports.

Reading times are stored as whole seconds since 1970 (UTC), so that windows, local days and slopes
are the same plain integer SQL on SQLite and PostgreSQL. ``reading_hours`` and ``reading_latest`` are
kept up to date by ``readings_repo.store_readings`` in the same transaction as the readings: one
cycle over 10,000 stations then reads a few hundred thousand small rows instead of millions.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, PrimaryKeyConstraint, String, Text, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from responder.storage.base import Base


class EpochSeconds(TypeDecorator[datetime]):
    """An aware datetime stored as integer seconds since 1970-01-01 UTC (fractions of a second dropped)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the database")
        return math.floor(value.timestamp())

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return datetime.fromtimestamp(int(value), UTC)


class ReadingRow(Base):
    """One reading, kept once per station, quantity and time (a second, different value is a conflict).

    Keyed by quantity and time first: the rules read time ranges of one quantity every cycle, and new
    readings then append to one B-tree (WITHOUT ROWID on SQLite) instead of going into three (migration
    0008). A station's history is a quantity and time range filtered by station."""

    __tablename__ = "readings"
    __table_args__ = (PrimaryKeyConstraint("quantity", "time", "station"), {"sqlite_with_rowid": False})
    station: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[str] = mapped_column(String(20))
    time: Mapped[datetime] = mapped_column(EpochSeconds())
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(120))
    received_at: Mapped[datetime]


class ReadingHourRow(Base):
    """Sum and count of the readings in each hour ``(hour - 3600, hour]`` (seconds since 1970, UTC), for the
    quantities whose windows are sums (``readings_repo.SUMMED``: rain)."""

    __tablename__ = "reading_hours"
    # Only the hours with rain: every cycle sums the whole dry-day horizon (60 days) of them, and most hours
    # are dry. The rain query names ``total != 0`` as a literal so that both engines can use this index.
    __table_args__ = (Index("ix_reading_hours_wet", "quantity", "hour", "station", "total",
                            sqlite_where=text("total != 0"), postgresql_where=text("total != 0")),)
    station: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[str] = mapped_column(String(20), primary_key=True)
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    total: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)


class ReadingLatestRow(Base):
    """The newest reading per station and quantity."""

    __tablename__ = "reading_latest"
    station: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[str] = mapped_column(String(20), primary_key=True)
    time: Mapped[datetime] = mapped_column(EpochSeconds())
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(120))


class ReadingConflictRow(Base):
    """A feed sent a different value for a reading already stored: the stored one stays, this is the record."""

    __tablename__ = "reading_conflicts"
    __table_args__ = (UniqueConstraint("station", "quantity", "time", "conflicting_value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[str] = mapped_column(String(20))
    time: Mapped[datetime]
    stored_value: Mapped[float] = mapped_column(Float)
    conflicting_value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]


class QuarantineRow(Base):
    """A row that failed validation, kept once however often its feed repeats it."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_last_seen_at", "last_seen_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    feed: Mapped[str] = mapped_column(String(120))
    station: Mapped[str | None] = mapped_column(String(64))
    raw: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[datetime]
    """First seen."""
    last_seen_at: Mapped[datetime]
    times_seen: Mapped[int] = mapped_column(Integer, default=1)


class FeedStatusRow(Base):
    """Health of a feed or a station: last success, last error, the stale alarm's state
    (``domain.stale_alarms``), and the parameters a feed sends that the plan does not map.

    A station's row: ``stale_since`` silent (alarmed) since, ``fresh_since`` reporting again since (not yet
    long enough to count as back). A feed's row: ``announced`` the stations the duty officer was last told
    are silent, ``stale_since`` set while that list is not empty, ``alarm_raised_at`` the last message."""

    __tablename__ = "feed_status"
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    """feed or station."""
    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_ok_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    stale_since: Mapped[datetime | None]
    alarm_raised_at: Mapped[datetime | None]
    fresh_since: Mapped[datetime | None]
    announced: Mapped[list[Any] | None]
    unknown_parameters: Mapped[dict[str, Any] | None]
    """Parameter code → series seen at the last read that the plan maps to no quantity."""


class RuleStateRow(Base):
    """What ``rules.decide`` remembers per hazard between cycles (``HazardState.to_json``)."""

    __tablename__ = "rule_state"
    hazard: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class ManualReportRow(Base):
    """A person's report of an upstream dam break or of people short of drinking water."""

    __tablename__ = "manual_reports"
    __table_args__ = (Index("ix_manual_reports_kind", "kind", "time"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    time: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)
    place: Mapped[str] = mapped_column(String(200), default="")
    station: Mapped[str | None] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime]
