"""Storing readings: a batch in bulk, with de-duplication and conflict checks as set operations.

A batch is a list of runs (``columns``: one station and quantity in rising time). SQLite looks up what is
stored already in the batch's time range and inserts the rest, many rows per statement; PostgreSQL gets the
batch by COPY and one INSERT … ON CONFLICT DO NOTHING that tells which rows it skipped. Of those, the same value
is a duplicate, another value is recorded as a conflict and the stored value stays. In the same transaction
the new readings go into the hourly totals, the latest value per station and the rain gauges' state, which is
what keeps a cycle's snapshots cheap."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Table,
    select,
    text,
)
from sqlalchemy.orm import Session

from responder.domain.readings import Reading, Series
from responder.storage.feed_models import (
    ReadingConflictRow,
    ReadingRow,
)
from responder.storage.readings_repo import rain_state
from responder.storage.readings_repo.bulk import (
    HOUR,
    SUMMED,
    Key,
    chunks,
    columns_into,
    epoch,
    insert_for,
    is_postgres,
    rows_into,
    same_value,
    staged,
)
from responder.storage.readings_repo.columns import (
    Conflict,
    Runs,
    are_runs,
    conflicts_with,
    count,
    key_rows,
    latest_rows,
    reading_columns,
    runs_of,
    spans,
    without,
)


class StoreResult(NamedTuple):
    inserted: int
    duplicates: int
    conflicts: int



def store_readings(session: Session, readings: Iterable[Reading], now: datetime) -> StoreResult:
    """Store new readings; the same reading again is a duplicate, a different value a recorded conflict."""
    batch: dict[Key, Reading] = {}
    conflicts: list[Conflict] = []
    duplicates = 0
    for reading in readings:
        key = (reading.station, reading.quantity, epoch(reading.time))
        first = batch.setdefault(key, reading)
        if first is not reading:
            if same_value(first.value, reading.value):
                duplicates += 1
            else:
                conflicts.append(Conflict(key, reading.value, reading.source, first.value))
    runs = runs_of((key, reading.value, reading.unit, reading.source) for key, reading in batch.items())
    return _store_unique(session, runs, now, conflicts, duplicates)



def store_series(session: Session, series: Sequence[Series], now: datetime) -> StoreResult:
    """Store whole series (drills, bulk feeds) without one object per reading; same outcome as store_readings."""
    if not are_runs(series):
        # Repeated times within the call: the row-by-row path sorts out duplicates and conflicts.
        return store_readings(session, [r for s in series for r in s.readings()], now)
    return _store_unique(session, [one for one in series if one.times], now, [], 0)



def _store_unique(session: Session, runs: Runs, now: datetime, conflicts: list[Conflict],
                  duplicates: int) -> StoreResult:
    """Insert what is not stored yet, then the hourly totals and latest values of what was."""
    if not runs:
        new: Runs = runs
        stored: dict[Key, float] = {}
    elif is_postgres(session):
        skipped = _insert_skipping_stored(session, runs, now)
        stored = _stored_values(session, skipped)
        new = without(runs, set(skipped)) if skipped else runs
    else:
        # SQLite: every transaction holds the write lock (BEGIN IMMEDIATE), so what is stored cannot change
        # between this look-up and the insert; ON CONFLICT stays as a safety net.
        stored = _stored_in_spans(session, runs)
        new = without(runs, stored) if stored else runs
        columns_into(session, "readings", _READING_COLUMNS, reading_columns(new, _received_param(session, now)),
                     "ON CONFLICT (station, quantity, time) DO NOTHING")
    if stored:
        again, differing = conflicts_with(runs, stored)
        duplicates += again
        conflicts += differing
    _record_conflicts(session, conflicts, now)
    _add_to_hours_and_latest(session, new)
    return StoreResult(count(new), duplicates, len(conflicts))



_READING_COLUMNS = (("station", "varchar"), ("quantity", "varchar"), ("time", "bigint"), ("value", "float8"),
                    ("unit", "varchar"), ("source", "varchar"), ("received_at", "timestamptz"))
_READING_NAMES = ", ".join(name for name, _ in _READING_COLUMNS)



def _insert_skipping_stored(session: Session, runs: Runs, now: datetime) -> list[Key]:
    """PostgreSQL: COPY the batch in, insert what is not stored yet, and return the keys that were (an insert
    that skipped a row tells which one, even if another worker stored it a moment ago)."""
    staging = staged(session, "readings", _READING_COLUMNS, zip(*reading_columns(runs, now), strict=True))
    skipped = session.connection().exec_driver_sql(
        f"WITH moved AS (DELETE FROM {staging} RETURNING {_READING_NAMES}), "
        f"inserted AS (INSERT INTO readings ({_READING_NAMES}) SELECT {_READING_NAMES} FROM moved "
        "ON CONFLICT (station, quantity, time) DO NOTHING RETURNING station, quantity, time) "
        "SELECT station, quantity, time FROM moved EXCEPT SELECT station, quantity, time FROM inserted")
    return [(station, quantity, int(t)) for station, quantity, t in skipped]



def _received_param(session: Session, now: datetime) -> Any:
    """``now`` as the received_at column stores it on this engine (its type's own conversion, down to the
    driver's value: otherwise the driver converts the same datetime again for every row)."""
    column = ReadingRow.__table__.c.received_at
    dialect = session.get_bind().dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(now) if process else now



def _stored_in_spans(session: Session, runs: Runs) -> dict[Key, float]:
    """SQLite: the stored values among ``runs``' keys, one range query per quantity.

    A cycle's readings are recent and close together, so the range holds little besides them; few
    stations (a back-filled gauge) are looked up by their own key range instead of every station's.
    """
    found: dict[Key, float] = {}
    connection = session.connection()
    for quantity, (lo, hi, stations) in spans(runs).items():
        sql = "SELECT station, quantity, time, value FROM readings WHERE quantity = ? AND time >= ? AND time <= ?"
        params: list[Any] = [quantity, lo, hi]
        if len(stations) <= 50:
            sql += f" AND station IN ({', '.join('?' for _ in stations)})"
            params += sorted(stations)
        for station, q, t, value in connection.exec_driver_sql(sql, tuple(params)):
            found[(station, q, int(t))] = value
    if found:
        wanted = set(key_rows(runs))
        found = {key: value for key, value in found.items() if key in wanted}
    return found



def _stored_values(session: Session, keys: Sequence[Key]) -> dict[Key, float]:
    """PostgreSQL: the stored values of ``keys`` (those an insert skipped), in one join."""
    if not keys:
        return {}
    joined = text("SELECT k.station, k.quantity, k.time, r.value FROM unnest(CAST(:station AS varchar[]), "
                  "CAST(:quantity AS varchar[]), CAST(:time AS bigint[])) AS k(station, quantity, time) "
                  "JOIN readings r ON r.station = k.station AND r.quantity = k.quantity AND r.time = k.time")
    params = {"station": [k[0] for k in keys], "quantity": [k[1] for k in keys], "time": [k[2] for k in keys]}
    return {(station, quantity, int(t)): value for station, quantity, t, value in session.execute(joined, params)}



def _record_conflicts(session: Session, conflicts: Sequence[Conflict], now: datetime) -> None:
    if not conflicts:
        return
    table = ReadingConflictRow.__table__
    assert isinstance(table, Table)
    rows = [{"station": c.key[0], "quantity": c.key[1], "time": datetime.fromtimestamp(c.key[2], UTC),
             "stored_value": c.stored, "conflicting_value": c.value, "source": c.source, "at": now}
            for c in conflicts]
    for chunk in chunks(rows):
        session.execute(insert_for(session, table).on_conflict_do_nothing(
            index_elements=["station", "quantity", "time", "conflicting_value"]), chunk)



_HOUR_COLUMNS = (("station", "varchar"), ("quantity", "varchar"), ("hour", "bigint"), ("total", "float8"),
                 ("count", "int"))
_LATEST_COLUMNS = (("station", "varchar"), ("quantity", "varchar"), ("time", "bigint"), ("value", "float8"),
                   ("source", "varchar"))



def _add_to_hours_and_latest(session: Session, new: Runs) -> None:
    """The hourly totals and the latest value per station, kept in step with the readings just inserted.

    Per run, each hour's readings are a slice summed by ``sum`` in time order, as they were added one by one
    before: no Python step per reading, which at a drill's million readings cost seconds. A run within one hour
    bucket (a feed check's few readings) needs no bisection. The latest values: ``latest_rows``."""
    sums: dict[tuple[str, str, int], list[float]] = {}
    for run in new:
        station, quantity, times, values = run.station, run.quantity, run.times, run.values
        if quantity not in SUMMED:
            continue
        hour = -(-times[0] // HOUR) * HOUR
        if times[-1] <= hour:
            _add(sums, (station, quantity, hour), sum(values), len(times))
            continue
        i, hi = 0, len(times)
        while i < hi:
            hour = -(-times[i] // HOUR) * HOUR
            j = bisect.bisect_right(times, hour, i, hi)
            _add(sums, (station, quantity, hour), sum(values[i:j]), j - i)
            i = j
    rows_into(session, "reading_hours", _HOUR_COLUMNS,
              [(s, q, h, total, int(n)) for (s, q, h), (total, n) in sums.items()],
              "ON CONFLICT (station, quantity, hour) DO UPDATE SET total = reading_hours.total + excluded.total, "
              "count = reading_hours.count + excluded.count")
    rain_state.advance(session, sums)
    rows_into(session, "reading_latest", _LATEST_COLUMNS, latest_rows(new),
              "ON CONFLICT (station, quantity) DO UPDATE SET time = excluded.time, value = excluded.value, "
              "source = excluded.source WHERE excluded.time > reading_latest.time")


def _add(sums: dict[tuple[str, str, int], list[float]], key: tuple[str, str, int], total: float, n: int) -> None:
    bucket = sums.get(key)
    if bucket is None:
        sums[key] = [total, n]
    else:
        bucket[0] += total
        bucket[1] += n



def readings_of(session: Session, station: str, quantity: str, start: datetime, end: datetime) -> list[Reading]:
    """One station's readings in ``(start, end]``, oldest first (charts, checks, tests)."""
    query = select(ReadingRow).where(ReadingRow.station == station, ReadingRow.quantity == quantity,
                                     ReadingRow.time > start, ReadingRow.time <= end).order_by(ReadingRow.time)
    return [Reading(r.station, r.time, r.quantity, r.value, r.unit, r.source)  # type: ignore[arg-type]
            for r in session.scalars(query)]


