"""Readings in the database: stored in bulk with de-duplication, and summarised per station in bulk.

``store_readings`` inserts with ``ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL), then looks up the
rows that did not insert: the same value is a duplicate, another value is recorded as a conflict and
the stored value stays. In the same transaction it adds the new readings to the hourly totals and the
latest value per station, which is what keeps ``snapshots`` fast: window totals come from whole hours
plus the raw readings of the partial hours at the window's edges, all with GROUP BY over every station
at once. Results agree with the pure functions in :mod:`responder.domain.derived`.
"""

from __future__ import annotations

import hashlib
import math
import operator
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Table,
    and_,
    case,
    cast,
    func,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from responder.domain.derived import (
    STALE_FACTOR,
    Latest,
    SlopeSums,
    SnapshotSpec,
    StationSnapshot,
    compose_snapshot,
    count_dry_days,
    local_day,
    min_span,
)
from responder.domain.readings import Reading, Rejected, Series, epoch_seconds
from responder.domain.rules import HazardState, ManualReport
from responder.domain.stations import Station
from responder.storage.feed_models import (
    FeedStatusRow,
    ManualReportRow,
    QuarantineRow,
    ReadingConflictRow,
    ReadingHourRow,
    ReadingLatestRow,
    ReadingRow,
    RuleStateRow,
)

HOUR = 3600
DAY = 86400
CHUNK = 500
Key = tuple[str, str, int]


class StoreResult(NamedTuple):
    inserted: int
    duplicates: int
    conflicts: int


epoch = epoch_seconds


def hour_end(seconds: int) -> int:
    """The hour bucket ``(end - 3600, end]`` a reading at ``seconds`` falls in."""
    return -(-seconds // HOUR) * HOUR


def _insert(session: Session, table: Table) -> Any:
    """INSERT with ON CONFLICT support for the session's engine."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"readings need SQLite or PostgreSQL, not {dialect}")


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def store_readings(session: Session, readings: Iterable[Reading], now: datetime) -> StoreResult:
    """Store new readings; the same reading again is a duplicate, a different value a recorded conflict."""
    batch: dict[Key, Reading] = {}
    conflicts: list[_Conflict] = []
    duplicates = 0
    for reading in readings:
        key = (reading.station, reading.quantity, epoch(reading.time))
        first = batch.setdefault(key, reading)
        if first is not reading:
            if _same(first.value, reading.value):
                duplicates += 1
            else:
                conflicts.append(_Conflict(key, reading.value, reading.source, first.value))
    columns = _Columns()
    for (station, quantity, t), reading in batch.items():
        columns.add(station, quantity, t, reading.value, reading.unit, reading.source)
    return _store_unique(session, columns, now, conflicts, duplicates)


def store_series(session: Session, series: Sequence[Series], now: datetime) -> StoreResult:
    """Store whole series (drills, bulk feeds) without one object per reading; same outcome as store_readings."""
    seen: set[tuple[str, str]] = set()
    for one in series:
        times = one.times
        if (one.station, one.quantity) in seen or not all(map(operator.lt, times, times[1:])):
            # Repeated times within the call: the row-by-row path sorts out duplicates and conflicts.
            return store_readings(session, [r for s in series for r in s.readings()], now)
        seen.add((one.station, one.quantity))
    columns = _Columns()
    for one in series:
        columns.add_series(one)
    return _store_unique(session, columns, now, [], 0)


class _Conflict(NamedTuple):
    key: Key
    value: float
    source: str
    stored: float


class _Columns:
    """Readings with distinct keys as parallel lists: what both engines' bulk inserts take, with no per-row objects."""

    def __init__(self) -> None:
        self.station: list[str] = []
        self.quantity: list[str] = []
        self.time: list[int] = []
        self.value: list[float] = []
        self.unit: list[str] = []
        self.source: list[str] = []
        self.spans: dict[str, tuple[int, int, set[str]]] = {}
        """Per quantity: the earliest and latest time and the stations, to look up what is stored already."""

    def __len__(self) -> int:
        return len(self.time)

    def add(self, station: str, quantity: str, t: int, value: float, unit: str, source: str) -> None:
        self.station.append(station)
        self.quantity.append(quantity)
        self.time.append(t)
        self.value.append(value)
        self.unit.append(unit)
        self.source.append(source)
        self._span(quantity, t, t, station)

    def add_series(self, series: Series) -> None:
        n = len(series.times)
        if not n:
            return
        self.station += [series.station] * n
        self.quantity += [series.quantity] * n
        self.time += series.times
        self.value += series.values
        self.unit += [series.unit] * n
        self.source += [series.source] * n
        self._span(series.quantity, series.times[0], series.times[-1], series.station)

    def _span(self, quantity: str, lo: int, hi: int, station: str) -> None:
        known = self.spans.get(quantity)
        if known is None:
            self.spans[quantity] = (lo, hi, {station})
        else:
            known[2].add(station)
            if lo < known[0] or hi > known[1]:
                self.spans[quantity] = (min(lo, known[0]), max(hi, known[1]), known[2])

    def key_rows(self) -> Iterator[Key]:
        return zip(self.station, self.quantity, self.time, strict=True)

    def without(self, keys: set[Key] | dict[Key, float]) -> _Columns:
        kept = _Columns()
        for i, key in enumerate(self.key_rows()):
            if key not in keys:
                kept.add(*key, self.value[i], self.unit[i], self.source[i])
        return kept


def _store_unique(session: Session, columns: _Columns, now: datetime, conflicts: list[_Conflict],
                  duplicates: int) -> StoreResult:
    """Insert what is not stored yet, then the hourly totals and latest values of what was."""
    if _postgres(session):
        rows = list(zip(columns.station, columns.quantity, columns.time, columns.value, columns.unit,
                        columns.source, [now] * len(columns), strict=True))
        returned = _rows_into(session, "readings", _READING_COLUMNS, rows,
                              "ON CONFLICT (station, quantity, time) DO NOTHING RETURNING station, quantity, time")
        inserted = {(station, quantity, int(t)) for station, quantity, t in returned}
        new = columns if len(inserted) == len(columns) else columns.without(
            {key for key in columns.key_rows() if key not in inserted})
        stored = {} if new is columns else _stored_values(session, [k for k in columns.key_rows() if k not in inserted])
    else:
        # SQLite: every transaction holds the write lock (BEGIN IMMEDIATE), so what is stored cannot change
        # between this look-up and the insert; ON CONFLICT stays as a safety net.
        stored = _stored_in_spans(session, columns)
        new = columns.without(stored) if stored else columns
        received = _received_param(session, now)
        _rows_into(session, "readings", _READING_COLUMNS, list(zip(
            new.station, new.quantity, new.time, new.value, new.unit, new.source, [received] * len(new),
            strict=True)), "ON CONFLICT (station, quantity, time) DO NOTHING")
    if stored:
        for i, key in enumerate(columns.key_rows()):
            value = stored.get(key)
            if value is None:
                continue
            if _same(value, columns.value[i]):
                duplicates += 1
            else:
                conflicts.append(_Conflict(key, columns.value[i], columns.source[i], value))
    _record_conflicts(session, conflicts, now)
    _add_to_hours_and_latest(session, new)
    return StoreResult(len(new), duplicates, len(conflicts))


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_READING_COLUMNS = (("station", "varchar"), ("quantity", "varchar"), ("time", "bigint"), ("value", "float8"),
                    ("unit", "varchar"), ("source", "varchar"), ("received_at", "timestamptz"))


def _rows_into(session: Session, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]],
               tail: str) -> list[Any]:
    """One bulk INSERT … ``tail`` (ON CONFLICT, RETURNING) of plain tuples, without per-row SQL or objects.

    PostgreSQL gets each column as one array through unnest (and can return rows); SQLite gets the
    driver's executemany of one prepared statement (no RETURNING there).
    """
    if not rows:
        return []
    names = ", ".join(name for name, _ in columns)
    if _postgres(session):
        arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in columns)
        params = {name: [row[i] for row in rows] for i, (name, _) in enumerate(columns)}
        result = session.execute(text(f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {tail}"),
                                 params)
        return list(result) if "RETURNING" in tail else []
    assert "RETURNING" not in tail, "SQLite's executemany cannot return rows"
    marks = ", ".join("?" for _ in columns)
    session.connection().exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks}) {tail}", list(rows))
    return []


def _received_param(session: Session, now: datetime) -> Any:
    """``now`` as the received_at column stores it on this engine (its type's own conversion)."""
    column = ReadingRow.__table__.c.received_at
    process = column.type.bind_processor(session.get_bind().dialect)
    return process(now) if process else now


def _stored_in_spans(session: Session, columns: _Columns) -> dict[Key, float]:
    """SQLite: the stored values among ``columns``' keys, one range query per quantity.

    A cycle's readings are recent and close together, so the range holds little besides them; few
    stations (a back-filled gauge) are looked up by their own key range instead of every station's.
    """
    found: dict[Key, float] = {}
    connection = session.connection()
    for quantity, (lo, hi, stations) in columns.spans.items():
        sql = "SELECT station, quantity, time, value FROM readings WHERE quantity = ? AND time >= ? AND time <= ?"
        params: list[Any] = [quantity, lo, hi]
        if len(stations) <= 50:
            sql += f" AND station IN ({', '.join('?' for _ in stations)})"
            params += sorted(stations)
        for station, q, t, value in connection.exec_driver_sql(sql, tuple(params)):
            found[(station, q, int(t))] = value
    if found:
        wanted = set(columns.key_rows())
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


def _record_conflicts(session: Session, conflicts: Sequence[_Conflict], now: datetime) -> None:
    if not conflicts:
        return
    table = ReadingConflictRow.__table__
    assert isinstance(table, Table)
    rows = [{"station": c.key[0], "quantity": c.key[1], "time": datetime.fromtimestamp(c.key[2], UTC),
             "stored_value": c.stored, "conflicting_value": c.value, "source": c.source, "at": now}
            for c in conflicts]
    for chunk in _chunks(rows):
        session.execute(_insert(session, table).on_conflict_do_nothing(
            index_elements=["station", "quantity", "time", "conflicting_value"]), chunk)


_HOUR_COLUMNS = (("station", "varchar"), ("quantity", "varchar"), ("hour", "bigint"), ("total", "float8"),
                 ("count", "int"))
_LATEST_COLUMNS = (("station", "varchar"), ("quantity", "varchar"), ("time", "bigint"), ("value", "float8"),
                   ("source", "varchar"))


def _add_to_hours_and_latest(session: Session, new: _Columns) -> None:
    """The hourly totals and the latest value per station, kept in step with the readings just inserted."""
    sums: dict[tuple[str, str, int], list[float]] = {}
    newest: dict[tuple[str, str], tuple[int, float, str]] = {}
    for station, quantity, t, value, source in zip(new.station, new.quantity, new.time, new.value, new.source,
                                                   strict=True):
        bucket = sums.get((station, quantity, -(-t // HOUR) * HOUR))
        if bucket is None:
            sums[(station, quantity, -(-t // HOUR) * HOUR)] = [value, 1]
        else:
            bucket[0] += value
            bucket[1] += 1
        known = newest.get((station, quantity))
        if known is None or t > known[0]:
            newest[(station, quantity)] = (t, value, source)
    _rows_into(session, "reading_hours", _HOUR_COLUMNS,
               [(s, q, h, total, int(n)) for (s, q, h), (total, n) in sums.items()],
               "ON CONFLICT (station, quantity, hour) DO UPDATE SET total = reading_hours.total + excluded.total, "
               "count = reading_hours.count + excluded.count")
    _rows_into(session, "reading_latest", _LATEST_COLUMNS,
               [(s, q, t, value, source) for (s, q), (t, value, source) in newest.items()],
               "ON CONFLICT (station, quantity) DO UPDATE SET time = excluded.time, value = excluded.value, "
               "source = excluded.source WHERE excluded.time > reading_latest.time")


def quarantine(session: Session, rejected: Iterable[Rejected], now: datetime) -> int:
    """Keep rejected rows with their reason; a row seen again only updates when and how often."""
    rows: dict[str, dict[str, Any]] = {}
    for r in rejected:
        fingerprint = hashlib.sha256("\x1f".join((r.feed, r.station or "", r.raw, r.reason)).encode()).hexdigest()
        rows[fingerprint] = {"fingerprint": fingerprint, "feed": r.feed, "station": r.station, "raw": r.raw,
                             "reason": r.reason, "location": (r.location or "")[:300] or None, "at": now,
                             "last_seen_at": now, "times_seen": 1}
    table = QuarantineRow.__table__
    assert isinstance(table, Table)
    for chunk in _chunks(list(rows.values())):
        stmt = _insert(session, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["fingerprint"],
            set_={"last_seen_at": stmt.excluded.last_seen_at, "times_seen": table.c.times_seen + 1,
                  "location": stmt.excluded.location})
        session.execute(stmt, chunk)
    return len(rows)


def quarantined(session: Session, limit: int = 100, feed: str | None = None) -> list[QuarantineRow]:
    """The most recently seen quarantined rows, newest first (``feeds quarantine``)."""
    query = select(QuarantineRow).order_by(QuarantineRow.last_seen_at.desc(), QuarantineRow.id.desc()).limit(limit)
    if feed is not None:
        query = query.where(QuarantineRow.feed == feed)
    return list(session.scalars(query))


def readings_of(session: Session, station: str, quantity: str, start: datetime, end: datetime) -> list[Reading]:
    """One station's readings in ``(start, end]``, oldest first (charts, checks, tests)."""
    query = select(ReadingRow).where(ReadingRow.station == station, ReadingRow.quantity == quantity,
                                     ReadingRow.time > start, ReadingRow.time <= end).order_by(ReadingRow.time)
    return [Reading(r.station, r.time, r.quantity, r.value, r.unit, r.source)  # type: ignore[arg-type]
            for r in session.scalars(query)]


# --- snapshots ---------------------------------------------------------------------------------------------

_time_s = type_coerce(ReadingRow.time, BigInteger)


def snapshots(session: Session, stations: Iterable[Station], now: datetime,
              spec: SnapshotSpec | None = None) -> dict[str, StationSnapshot]:
    """Snapshots of every station at ``now``: a handful of GROUP BY queries, whatever the number of stations."""
    spec = spec or SnapshotSpec()
    stations = list(stations)
    at = epoch(now)
    rain = any(s.measures("rain_mm") for s in stations)
    stage = any(s.measures("stage_m") for s in stations)
    latest = _latest(session, now, stations)
    edges = _Edges(session, at)
    totals = _window_totals(session, at, spec.windows, edges) if rain else {}
    rates = {lb: {sid: sums.slope(min_span(lb)) for sid, sums in _slopes(session, at, lb).items()}
             for lb in spec.lookbacks} if stage else {}
    dry = _dry_days(session, now, spec, edges) if rain else {}
    zero = {w: 0.0 for w in spec.windows}
    return {
        s.id: compose_snapshot(s, now, latest.get(s.id, {}), totals.get(s.id, zero),
                               {lb: per_station.get(s.id) for lb, per_station in rates.items()}, dry.get(s.id))
        for s in stations
    }


def _latest(session: Session, now: datetime, stations: Sequence[Station]) -> dict[str, dict[str, Latest]]:
    """Latest value per station and quantity; newer-than-``now`` ones (a clock set back) looked up again."""
    out: dict[str, dict[str, Latest]] = {}
    ahead: set[tuple[str, str]] = set()
    at = epoch(now)
    latest = select(ReadingLatestRow.station, ReadingLatestRow.quantity,
                    type_coerce(ReadingLatestRow.time, BigInteger), ReadingLatestRow.value)
    for station, quantity, seconds, value in session.execute(latest):
        if seconds <= at:
            out.setdefault(station, {})[quantity] = Latest(datetime.fromtimestamp(seconds, UTC), value)
        else:
            ahead.add((station, quantity))
    if ahead:
        # Only as far back as staleness reaches: an older value would not be used by any rule.
        horizon = STALE_FACTOR * max((s.interval for s in stations), default=timedelta(hours=1))
        newest = (select(ReadingRow.station, ReadingRow.quantity, func.max(_time_s).label("t"))
                  .where(_time_s <= epoch(now), _time_s > epoch(now - horizon))
                  .group_by(ReadingRow.station, ReadingRow.quantity).subquery())
        query = select(ReadingRow.station, ReadingRow.quantity, ReadingRow.time, ReadingRow.value).join(
            newest, and_(ReadingRow.station == newest.c.station, ReadingRow.quantity == newest.c.quantity,
                         _time_s == newest.c.t))
        for station, quantity, time, value in session.execute(query):
            if (station, quantity) in ahead:
                out.setdefault(station, {})[quantity] = Latest(time, value)
    return out


class _Edges:
    """Raw rain per station over partial hours ``(lo, hi]``, each range queried once per cycle."""

    def __init__(self, session: Session, at: int) -> None:
        self.session = session
        self.at = at
        self.cache: dict[tuple[int, int], dict[str, float]] = {}

    def sums(self, lo: int, hi: int) -> dict[str, float]:
        if lo >= hi:
            return {}
        if (lo, hi) not in self.cache:
            query = (select(ReadingRow.station, func.sum(ReadingRow.value))
                     .where(ReadingRow.quantity == "rain_mm", _time_s > lo, _time_s <= hi)
                     .group_by(ReadingRow.station))
            self.cache[(lo, hi)] = {station: float(total) for station, total in self.session.execute(query)}
        return self.cache[(lo, hi)]

    @property
    def current_hour(self) -> dict[str, float]:
        return self.sums(self.at // HOUR * HOUR, self.at)


def _window_totals(session: Session, at: int, windows: Sequence[timedelta],
                   edges: _Edges) -> dict[str, dict[timedelta, float]]:
    """Rain in ``(at - w, at]``: whole hours from ``reading_hours``, the two partial hours from ``readings``."""
    last_full = at // HOUR * HOUR
    plans: list[tuple[timedelta, int | None, list[tuple[int, int]]]] = []
    for window in windows:
        start = at - math.floor(window.total_seconds())
        first = hour_end(start)
        if first < last_full:
            plans.append((window, first, [(start, first), (last_full, at)]))
        else:
            plans.append((window, None, [(start, at)]))
    out: dict[str, dict[timedelta, float]] = {}
    full = [(w, first) for w, first, _ in plans if first is not None]
    if full:
        h = ReadingHourRow.hour
        sums = [func.sum(case((h > first, ReadingHourRow.total), else_=0.0)) for _, first in full]
        query = (select(ReadingHourRow.station, *sums)
                 .where(ReadingHourRow.quantity == "rain_mm", h > min(first for _, first in full), h <= last_full)
                 .group_by(ReadingHourRow.station))
        for station, *values in session.execute(query):
            out[station] = {w: float(v or 0.0) for (w, _), v in zip(full, values, strict=True)}
    for window, _, ranges in plans:
        for lo, hi in ranges:
            for station, total in edges.sums(lo, hi).items():
                per_station = out.setdefault(station, {})
                per_station[window] = per_station.get(window, 0.0) + total
    return out


def _slopes(session: Session, at: int, lookback: timedelta) -> dict[str, SlopeSums]:
    """Least-squares sums of the stage over ``(at - lookback, at]``, x in hours before ``at``."""
    x = _time_s - at
    xf: ColumnElement[float] = cast(x, Float)
    query = (
        select(ReadingRow.station, func.count(), func.sum(xf), func.sum(ReadingRow.value), func.sum(xf * xf),
               func.sum(xf * ReadingRow.value), func.min(x), func.max(x))
        .where(ReadingRow.quantity == "stage_m", _time_s > at - math.floor(lookback.total_seconds()),
               _time_s <= at)
        .group_by(ReadingRow.station))
    out: dict[str, SlopeSums] = {}
    for station, n, sx, sy, sxx, sxy, first, last in session.execute(query):
        out[station] = SlopeSums(int(n), sx / HOUR, sy, sxx / HOUR**2, sxy / HOUR, first / HOUR, last / HOUR)
    return out


def _dry_days(session: Session, now: datetime, spec: SnapshotSpec, edges: _Edges) -> dict[str, int | None]:
    """Consecutive dry days per rain station from daily totals of the hourly buckets (local calendar).

    Days are cut at the zone's UTC offset at ``now``: exact for zones without daylight saving (China),
    within an hour around the change otherwise.
    """
    offset = spec.zone.utcoffset(now)
    shift = int(offset.total_seconds()) if offset else 0
    today = local_day(now, spec.zone)
    first_day = today - spec.dry_horizon_days + 1
    at = epoch(now)
    last_full = at // HOUR * HOUR
    h = ReadingHourRow.hour
    day = ((h - 1 + shift) // DAY).label("day")
    daily = (select(ReadingHourRow.station, day, func.sum(ReadingHourRow.total).label("total"))
             .where(ReadingHourRow.quantity == "rain_mm", h > first_day * DAY - shift, h <= last_full)
             .group_by(ReadingHourRow.station, day).subquery())
    query = select(daily.c.station,
                   func.max(case((daily.c.total >= spec.dry_below_mm, daily.c.day))),
                   func.min(daily.c.day),
                   func.sum(case((daily.c.day == today, daily.c.total), else_=0.0))).group_by(daily.c.station)
    found: dict[str, tuple[int | None, int | None, float]] = {
        station: (None if wet is None else int(wet), None if first is None else int(first), float(today_total or 0))
        for station, wet, first, today_total in session.execute(query)
    }
    for station, total in edges.current_hour.items():
        wet, first, today_total = found.get(station, (None, None, 0.0))
        found[station] = (wet, today if first is None else first, today_total + total)
    out: dict[str, int | None] = {}
    for station, (wet, first, today_total) in found.items():
        if today_total >= spec.dry_below_mm:
            wet = today
        out[station] = count_dry_days(today, wet, first)
    return out


# --- feed status, rule state, manual reports ---------------------------------------------------------------

def record_feed_status(session: Session, kind: str, ref: str, error: str | None, now: datetime) -> FeedStatusRow:
    """Note a success (``error`` None) or a failure of a feed or station; the stale alarm is the caller's."""
    row = session.get(FeedStatusRow, (kind, ref))
    if row is None:
        row = FeedStatusRow(kind=kind, ref=ref)
        session.add(row)
    if error is None:
        row.last_ok_at = now
    else:
        row.last_error, row.last_error_at = error, now
    return row


def load_rule_state(session: Session) -> dict[str, HazardState]:
    return {row.hazard: HazardState.from_json(row.state) for row in session.scalars(select(RuleStateRow))}


def save_rule_state(session: Session, state: dict[str, HazardState], now: datetime) -> None:
    for hazard, hazard_state in state.items():
        row = session.get(RuleStateRow, hazard)
        if row is None:
            session.add(RuleStateRow(hazard=hazard, state=hazard_state.to_json(), updated_at=now))
        else:
            row.state, row.updated_at = hazard_state.to_json(), now


def add_report(session: Session, report: ManualReport, now: datetime) -> int:
    row = ManualReportRow(kind=report.kind, time=report.time, value=report.value, place=report.place,
                          station=report.station, by=report.by, note=report.note, received_at=now)
    session.add(row)
    session.flush()
    return row.id


def recent_reports(session: Session, now: datetime, within: timedelta = timedelta(days=7)) -> list[ManualReport]:
    """Reports of the last ``within`` (the rules keep only the latest per place and their own validity)."""
    query = (select(ManualReportRow).where(ManualReportRow.time > now - within, ManualReportRow.time <= now)
             .order_by(ManualReportRow.time, ManualReportRow.id))
    return [ManualReport(r.kind, r.time.astimezone(UTC), r.value, r.place, r.by, r.station, r.note)  # type: ignore[arg-type]
            for r in session.scalars(query)]
