"""Readings in the database: stored in bulk with de-duplication, and summarised per station in bulk.

``store_readings`` inserts with ``ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL), then looks up the
rows that did not insert: the same value is a duplicate, another value is recorded as a conflict and
the stored value stays. In the same transaction it adds the new readings to the hourly totals and the
latest value per station, which is what keeps ``snapshots`` fast: window totals come from whole hours
plus the raw readings of the partial hours at the window's edges, all with GROUP BY over every station
at once. Results agree with the pure functions in :mod:`responder.domain.derived`.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import operator
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
    text,
    type_coerce,
    union_all,
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
    day_start,
    local_day,
    min_span,
    utc_offsets,
)
from responder.domain.readings import Reading, Rejected, Series, epoch_seconds
from responder.domain.redact import redact
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
SUMMED = frozenset({"rain_mm"})
"""The quantities whose windows are sums (rain): only they get hourly totals in ``reading_hours``."""
CHUNK = 500
RECENT_DAYS = 2
"""Wet days are looked for in the last days first, then further back only for the stations still dry."""
OLDER_DAYS = (8, 30)
"""Then back to these many days before today, then to the end of the horizon."""
NAMED_STATIONS = 500
"""Up to this many stations still dry are named in the query (an index seek each); more, and all are read."""
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
        self.runs: list[tuple[str, str, int, int]] | None = []
        """Rows ``[lo, hi)`` of one station and quantity in rising time, while every row came with a series."""

    def __len__(self) -> int:
        return len(self.time)

    def add(self, station: str, quantity: str, t: int, value: float, unit: str, source: str) -> None:
        self.runs = None  # rows one by one: their runs are found when needed (``_runs``)
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
        if self.runs is not None:
            self.runs.append((series.station, series.quantity, len(self.time), len(self.time) + n))
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
    """``now`` as the received_at column stores it on this engine (its type's own conversion, down to the
    driver's value: otherwise the driver converts the same datetime again for every row)."""
    column = ReadingRow.__table__.c.received_at
    dialect = session.get_bind().dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
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


def _runs(columns: _Columns) -> Iterator[tuple[str, str, int, int]]:
    """``columns``' rows as runs ``[lo, hi)`` of one station and quantity in rising time: a series is one run,
    and a feed's rows mostly come grouped by station and in time order."""
    if columns.runs is not None:
        yield from columns.runs
        return
    lo = 0
    for i in range(1, len(columns) + 1):
        if (i == len(columns) or columns.station[i] != columns.station[lo]
                or columns.quantity[i] != columns.quantity[lo] or columns.time[i] <= columns.time[i - 1]):
            yield columns.station[lo], columns.quantity[lo], lo, i
            lo = i


def _add_to_hours_and_latest(session: Session, new: _Columns) -> None:
    """The hourly totals and the latest value per station, kept in step with the readings just inserted.

    Per run of readings (``_runs``), its last one is the newest, and each hour's readings are a slice found
    by bisection and summed by ``sum`` in time order, as they were added one by one before: no Python loop
    over single readings, which at a drill's million readings cost seconds."""
    sums: dict[tuple[str, str, int], list[float]] = {}
    newest: dict[tuple[str, str], tuple[int, float, str]] = {}
    times, values = new.time, new.value
    for station, quantity, lo, hi in _runs(new):
        last = times[hi - 1]
        known = newest.get((station, quantity))
        if known is None or last > known[0]:
            newest[station, quantity] = (last, values[hi - 1], new.source[hi - 1])
        if quantity not in SUMMED:
            continue
        i = lo
        while i < hi:
            hour = -(-times[i] // HOUR) * HOUR
            j = bisect.bisect_right(times, hour, i, hi)
            bucket = sums.get((station, quantity, hour))
            if bucket is None:
                sums[station, quantity, hour] = [sum(values[i:j]), j - i]
            else:
                bucket[0] += sum(values[i:j])
                bucket[1] += j - i
            i = j
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
    """Snapshots of every station at ``now``: a handful of GROUP BY queries, whatever the number of stations.

    Rain sums leave out zero rows, which add nothing: sorting rows for GROUP BY is most of what these
    queries cost, and most rain rows are zero (a dry spell, the gauges a storm misses). The queries are
    built once per shape with bound values (``_query``) and run on the session's connection, without the
    ORM: at a cycle every few minutes, building and dispatching them cost as much as running them.
    """
    spec = spec or SnapshotSpec()
    stations = list(stations)
    at = epoch(now)
    rain = any(s.measures("rain_mm") for s in stations)
    stage = any(s.measures("stage_m") for s in stations)
    latest = _latest(session, now, stations)
    totals: dict[str, dict[timedelta, float]] = {}
    dry: dict[str, int | None] = {}
    if rain:
        days = _Days(now, spec)
        plans = _window_plans(at, spec.windows)
        edges = _edge_sums(session, plans)
        totals, wet_days = _rain_hours(session, days, spec, plans)
        _add_edges(totals, plans, edges)
        dry = _dry_days(session, days, spec, wet_days, edges.get((days.last_full, at), {}))
    no_rate = dict.fromkeys(spec.lookbacks)
    rates: dict[str, dict[timedelta, float | None]] = {}
    if stage:
        for lb in spec.lookbacks:
            for sid, rate in _rates(session, at, lb).items():
                rates.setdefault(sid, dict(no_rate))[lb] = rate
    nothing: dict[str, Latest] = {}
    zero = dict.fromkeys(spec.windows, 0.0)
    return {  # the snapshots keep these dicts as they are: nothing changes them, defaults included
        s.id: compose_snapshot(s, now, latest.get(s.id, nothing), totals.get(s.id, zero), rates.get(s.id, no_rate),
                               dry.get(s.id))
        for s in stations
    }


_queries: dict[tuple[Any, ...], Any] = {}


def _int(name: str) -> Any:
    """A bound whole number (seconds, a day number, an offset) in a snapshot query."""
    return bindparam(name, type_=BigInteger)


def _query(*shape: Any) -> Any:
    """The snapshot query of this shape (its name, then what changes its SQL), built on first use.

    Every value is a bound parameter, so a query is only ever built from the shape: nothing in it can go
    stale between cycles, databases or dialects (SQLAlchemy compiles it once per dialect)."""
    query = _queries.get(shape)
    if query is None:
        query = _queries[shape] = _BUILDERS[shape[0]](*shape[1:])
    return query


def _latest(session: Session, now: datetime, stations: Sequence[Station]) -> dict[str, dict[str, Latest]]:
    """Latest value per station and quantity; newer-than-``now`` ones (a clock set back) looked up again."""
    out: dict[str, dict[str, Latest]] = {}
    ahead: set[tuple[str, str]] = set()
    at = epoch(now)
    times: dict[int, datetime] = {}  # gauges report on the same ticks: one datetime per distinct second
    for station, quantity, seconds, value in session.connection().execute(_query("latest")).all():
        if seconds <= at:
            time = times.get(seconds)
            if time is None:
                time = times[seconds] = datetime.fromtimestamp(seconds, UTC)
            if station in out:
                out[station][quantity] = Latest(time, value)
            else:
                out[station] = {quantity: Latest(time, value)}
        else:
            ahead.add((station, quantity))
    if ahead:
        # Only as far back as staleness reaches: an older value would not be used by any rule. Naming the
        # quantities lets the scan use the (quantity, time) index.
        horizon = STALE_FACTOR * max((s.interval for s in stations), default=timedelta(hours=1))
        newest = (select(ReadingRow.station, ReadingRow.quantity, func.max(_time_s).label("t"))
                  .where(ReadingRow.quantity.in_(sorted({q for _, q in ahead})), _time_s <= epoch(now),
                         _time_s > epoch(now - horizon))
                  .group_by(ReadingRow.station, ReadingRow.quantity).subquery())
        query = select(ReadingRow.station, ReadingRow.quantity, ReadingRow.time, ReadingRow.value).join(
            newest, and_(ReadingRow.station == newest.c.station, ReadingRow.quantity == newest.c.quantity,
                         _time_s == newest.c.t))
        for station, quantity, time, value in session.execute(query):
            if (station, quantity) in ahead:
                out.setdefault(station, {})[quantity] = Latest(time, value)
    return out


def _latest_query() -> Any:
    return select(ReadingLatestRow.station, ReadingLatestRow.quantity,
                  type_coerce(ReadingLatestRow.time, BigInteger), ReadingLatestRow.value)


class _Days:
    """The local calendar of a cycle: where each local day of the dry-day horizon begins, with the zone's
    UTC offset in effect at each moment (daylight saving included).

    Hour buckets are given to the day of their last second, which is exact for zones a whole number of hours
    from UTC; with a half-hour offset the bucket across midnight goes to the day it ends in."""

    def __init__(self, now: datetime, spec: SnapshotSpec) -> None:
        self.zone = spec.zone
        self.today = local_day(now, spec.zone)
        self.first = self.today - spec.dry_horizon_days + 1
        """The first day of the dry-day horizon."""
        self.start = self.hour_after(self.first)
        """Its first hour bucket is the one after this."""
        self.at = epoch(now)
        self.last_full = self.at // HOUR * HOUR
        self.recent = max(self.first, self.today - RECENT_DAYS)
        """The first day the rain query looks at for wet days; older ones only for stations still dry then."""
        # Per calendar day, not per cycle: the same table serves every cycle of the day (and is cached).
        self.offsets = utc_offsets(spec.zone, self.start, self.hour_after(self.today + 1))
        self.cuts = len(self.offsets) - 1
        """How many times the offset changes in the horizon: part of the shape of the queries that cut days."""
        self.params = {f"s{i}": shift for i, (_, shift) in enumerate(self.offsets)} | {
            f"t{i}": since for i, (since, _) in enumerate(self.offsets) if i}
        """The bound values of ``_day_of_hour``."""

    def hour_after(self, day: int) -> int:
        """The end of the hour bucket before ``day``'s first one: a day's buckets are ``(hour_after, ...]``."""
        return day_start(day, self.zone)

    def day_of(self, hour: int) -> int:
        """The local day of the hour bucket ending at ``hour``, as ``_day_of_hour`` gives it in SQL."""
        at = hour - 1
        since = max(0, bisect.bisect_right(self.offsets, at, key=operator.itemgetter(0)) - 1)
        return (at + self.offsets[since][1]) // DAY


def _day_of_hour(cuts: int) -> Any:
    """``_Days.day_of`` in SQL: the offset in effect at each bucket's last second (``s0`` until ``t1``, ...)."""
    last = ReadingHourRow.hour - 1
    if not cuts:
        return (last + _int("s0")) // DAY
    return case(*[(last < _int(f"t{i}"), (last + _int(f"s{i - 1}")) // DAY) for i in range(1, cuts + 1)],
                else_=(last + _int(f"s{cuts}")) // DAY)


Span = tuple[int, int]
_Plan = tuple[timedelta, int | None, tuple[Span, ...]]


def _window_plans(at: int, windows: Sequence[timedelta]) -> list[_Plan]:
    """Per window ``(at - w, at]``: where its whole hours start (None: it has none) and the partial hours
    ``(lo, hi]`` read raw; the current hour is the same span for every window."""
    last_full = at // HOUR * HOUR
    plans: list[_Plan] = []
    for window in windows:
        start = at - math.floor(window.total_seconds())
        first = hour_end(start)
        spans = ((start, first), (last_full, at)) if first <= last_full else ((start, at),)
        plans.append((window, first if first < last_full else None, tuple((lo, hi) for lo, hi in spans if lo < hi)))
    return plans


def _edge_sums(session: Session, plans: Sequence[_Plan]) -> dict[Span, dict[str, float]]:
    """Raw rain per station over each partial hour of the plans, in one query."""
    spans = sorted({span for _, _, spans in plans for span in spans})
    if not spans:
        return {}
    params = {f"lo{i}": lo for i, (lo, _) in enumerate(spans)} | {f"hi{i}": hi for i, (_, hi) in enumerate(spans)}
    out: dict[Span, dict[str, float]] = {span: {} for span in spans}
    for part, station, total in session.connection().execute(_query("edges", len(spans)), params).all():
        out[spans[part]][station] = float(total)
    return out


def _edges_query(count: int) -> Any:
    parts = [select(literal_column(str(i), Integer).label("part"), ReadingRow.station,
                    func.sum(ReadingRow.value))
             .where(ReadingRow.quantity == "rain_mm", _time_s > _int(f"lo{i}"),
                    _time_s <= _int(f"hi{i}"), ReadingRow.value != 0)
             .group_by(ReadingRow.station) for i in range(count)]
    return parts[0] if count == 1 else union_all(*parts)


WetDays = dict[str, tuple[int | None, float, bool]]
"""Per station: the last wet day before today, today's rain in whole hours, and whether it has any."""


def _rain_hours(session: Session, days: _Days, spec: SnapshotSpec,
                plans: Sequence[_Plan]) -> tuple[dict[str, dict[timedelta, float]], WetDays]:
    """From one pass over the recent hourly buckets: each window's whole hours, today's rain and the last wet
    day since ``days.recent`` (``_older_wet`` looks further back where there is none)."""
    full = [(w, first) for w, first, _ in plans if first is not None]
    params = {f"w{i}": first for i, (_, first) in enumerate(full)} | {
        "lo": min([days.hour_after(days.recent)] + [first for _, first in full]), "hi": days.last_full,
        "below": spec.dry_below_mm, "first_day": days.recent, "today": days.today} | days.params
    every = [w for w, _, _ in plans]
    totals: dict[str, dict[timedelta, float]] = {}
    wet_days: WetDays = {}
    for station, wet, today_total, today_seen, *sums in session.connection().execute(
            _query("rain", len(full), spec.dry_below_mm > 0, days.cuts), params).all():
        wet_days[station] = (None if wet is None else int(wet), float(today_total or 0), bool(today_seen))
        if full:
            per_station = totals[station] = dict.fromkeys(every, 0.0)
            for (w, _), v in zip(full, sums, strict=True):
                per_station[w] = float(v or 0.0)
    return totals, wet_days


def _rain_query(windows: int, skip_zeros: bool, cuts: int) -> Any:
    """Sums over part of the rows are FILTERed, not CASE … ELSE 0.0: most hours of the range are in no window,
    and skipping them costs less than adding 0.0, which changes no sum (NULL where none is)."""
    h, total = ReadingHourRow.hour, ReadingHourRow.total
    sums = [func.sum(total).filter(h > _int(f"w{i}")).label(f"w{i}") for i in range(windows)]
    daily = _daily_rain(skip_zeros, cuts).add_columns(*sums).subquery()
    c = daily.c
    today = _int("today")
    wet = and_(c.total >= bindparam("below", type_=Float), c.day >= _int("first_day"),
               c.day < today)
    return select(c.station, func.max(c.day).filter(wet), func.sum(c.total).filter(c.day == today),
                  func.count().filter(c.day == today),
                  *[func.sum(c[f"w{i}"]) for i in range(windows)]).group_by(c.station)


def _add_edges(totals: dict[str, dict[timedelta, float]], plans: Sequence[_Plan],
               edges: dict[Span, dict[str, float]]) -> None:
    """Add the partial hours; a station with any rain has every window (0.0 where none fell), as the pure
    functions give it."""
    every = [w for w, _, _ in plans]
    for window, _, spans in plans:
        for span in spans:
            for station, rain in edges[span].items():
                if station not in totals:
                    totals[station] = dict.fromkeys(every, 0.0)
                totals[station][window] += rain


def _rates(session: Session, at: int, lookback: timedelta) -> dict[str, float | None]:
    """Rate of rise per station with stage readings in ``(at - lookback, at]``, from least-squares sums
    (``SlopeSums``, x in hours before ``at``) added up by SQL."""
    span = min_span(lookback)
    out: dict[str, float | None] = {}
    params = {"at": at, "lo": at - math.floor(lookback.total_seconds())}
    for station, n, sx, sy, sxx, sxy, first, last in session.connection().execute(_query("slopes"), params).all():
        out[station] = SlopeSums.line(int(n), sx / HOUR, sy, sxx / HOUR**2, sxy / HOUR, first / HOUR, last / HOUR,
                                      span)
    return out


def _slopes_query() -> Any:
    x = _time_s - _int("at")
    xf: ColumnElement[float] = cast(x, Float)
    return (select(ReadingRow.station, func.count(), func.sum(xf), func.sum(ReadingRow.value), func.sum(xf * xf),
                   func.sum(xf * ReadingRow.value), func.min(x), func.max(x))
            .where(ReadingRow.quantity == "stage_m", _time_s > _int("lo"),
                   _time_s <= _int("at"))
            .group_by(ReadingRow.station))


def _dry_days(session: Session, days: _Days, spec: SnapshotSpec, wet_days: WetDays,
              current_hour: dict[str, float]) -> dict[str, int | None]:
    """Consecutive dry days per rain station, from ``_rain_hours``' wet days and the rain of the current
    hour, and for stations dry since ``days.recent``, ``_older_wet``. Where each station's data begins is an
    index seek per station; whether it reported in the current hour is its latest report's time (looked up
    only when that is after ``now``)."""
    today, at, last_full = days.today, days.at, days.last_full
    params = {"start": days.start, "last_full": last_full, "at": at}
    known: dict[str, tuple[int | None, int]] = {}
    """Per station with data in the horizon: its last wet day as far as known, and its first day of data."""
    for station, latest, first_hour, ahead_reported in session.connection().execute(_query("first"), params).all():
        reported = last_full < latest <= at or bool(latest > at and ahead_reported)
        if first_hour is not None:
            first = days.day_of(int(first_hour))
        elif reported:
            first = today
        else:
            continue  # no data in the horizon
        wet, today_total, today_seen = wet_days.get(station, (None, 0.0, False))
        if (today_seen or reported) and today_total + current_hour.get(station, 0.0) >= spec.dry_below_mm:
            wet = today
        known[station] = (wet, first)
    older = _older_wet(session, days, spec, {sid: first for sid, (wet, first) in known.items()
                                              if wet is None and first < days.recent})
    return {sid: count_dry_days(today, older.get(sid, wet), first) for sid, (wet, first) in known.items()}


def _older_wet(session: Session, days: _Days, spec: SnapshotSpec, dry: dict[str, int]) -> dict[str, int]:
    """The last wet day before ``days.recent`` of the ``dry`` stations (station: its first day of data), going
    back a stretch at a time and stopping once each has one or has no data further back.

    Summing every station's wet hours of the whole horizon each cycle was most of what a cycle cost in
    steady state (60 days of history); most stations had rain in the last days, and the others are few or
    have little rain to sum (a drought)."""
    found: dict[str, int] = {}
    bounds = sorted({days.recent, days.first, *(max(days.first, days.today - n) for n in OLDER_DAYS)},
                    reverse=True)
    pending = dict(dry)
    for hi_day, lo_day in itertools.pairwise(bounds):
        pending = {sid: first for sid, first in pending.items() if first < hi_day}  # data before this stretch
        if not pending:
            break
        named = len(pending) <= NAMED_STATIONS
        params: dict[str, Any] = {"lo": days.hour_after(lo_day), "hi": days.hour_after(hi_day),
                                  "below": spec.dry_below_mm} | days.params
        if named:
            params["stations"] = sorted(pending)
        for station, day in session.connection().execute(
                _query("older", spec.dry_below_mm > 0, named, days.cuts), params).all():
            if station in pending:
                found[station] = int(day)
                del pending[station]
    return found


def _daily_rain(skip_zeros: bool, cuts: int, *where: Any) -> Any:
    """Rain per station and local day from the hourly totals in ``(lo, hi]``: what wet days are judged on."""
    h, total = ReadingHourRow.hour, ReadingHourRow.total
    conditions = [ReadingHourRow.quantity == "rain_mm", h > _int("lo"), h <= _int("hi"), *where]
    if skip_zeros:  # without a positive threshold a day of zeros is wet, and its zero rows count
        conditions.append(total != literal_column("0"))  # a literal: what lets the engines use the wet-hours index
    day = _day_of_hour(cuts).label("day")
    return select(ReadingHourRow.station, day, func.sum(total).label("total")).where(*conditions).group_by(
        ReadingHourRow.station, day)


def _older_query(skip_zeros: bool, named: bool, cuts: int) -> Any:
    where = [ReadingHourRow.station.in_(bindparam("stations", expanding=True))] if named else []
    daily = _daily_rain(skip_zeros, cuts, *where).subquery()
    return (select(daily.c.station, func.max(daily.c.day)).where(daily.c.total >= bindparam("below", type_=Float))
            .group_by(daily.c.station))


def _first_query() -> Any:
    latest, h = ReadingLatestRow, ReadingHourRow.hour
    latest_s = type_coerce(latest.time, BigInteger)
    last_full, at = _int("last_full"), _int("at")
    first_hour = select(func.min(h)).where(
        ReadingHourRow.station == latest.station, ReadingHourRow.quantity == latest.quantity,
        h > _int("start"), h <= last_full).scalar_subquery()
    reported = select(ReadingRow.station).where(
        ReadingRow.station == latest.station, ReadingRow.quantity == latest.quantity, _time_s > last_full,
        _time_s <= at).exists()
    return select(latest.station, latest_s, first_hour, case((latest_s > at, reported))).where(
        latest.quantity == "rain_mm")


_BUILDERS: dict[str, Any] = {"latest": _latest_query, "edges": _edges_query, "rain": _rain_query,
                             "slopes": _slopes_query, "first": _first_query, "older": _older_query}


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
        row.last_error, row.last_error_at = redact(error), now
    return row


def load_rule_state(session: Session) -> dict[str, HazardState]:
    """What ``decide`` remembered; plain rows, not ORM objects, since ``save_rule_state`` upserts."""
    table = RuleStateRow.__table__
    assert isinstance(table, Table)
    return {hazard: HazardState.from_json(state)
            for hazard, state in session.connection().execute(select(table.c.hazard, table.c.state))}


def save_rule_state(session: Session, state: dict[str, HazardState], now: datetime) -> None:
    """One upsert for every hazard: a cycle saves the state each time, without loading the rows first."""
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    if not state:
        return
    table = RuleStateRow.__table__
    assert isinstance(table, Table)
    insert = postgresql_insert(table) if session.get_bind().dialect.name == "postgresql" else sqlite_insert(table)
    upsert = insert.on_conflict_do_update(index_elements=["hazard"], set_={"state": insert.excluded.state,
                                                                          "updated_at": insert.excluded.updated_at})
    session.connection().execute(upsert, [{"hazard": hazard, "state": hazard_state.to_json(), "updated_at": now}
                                          for hazard, hazard_state in state.items()])


def add_report(session: Session, report: ManualReport, now: datetime) -> int:
    row = ManualReportRow(kind=report.kind, time=report.time, value=report.value, place=report.place,
                          station=report.station, by=report.by, note=report.note, received_at=now)
    session.add(row)
    session.flush()
    return row.id


_R = ManualReportRow
_RECENT_REPORTS = (select(_R.kind, _R.time, _R.value, _R.place, _R.by, _R.station, _R.note)
                   .where(_R.time > bindparam("since"), _R.time <= bindparam("now"))
                   .order_by(_R.time, _R.id))


def recent_reports(session: Session, now: datetime, within: timedelta = timedelta(days=7)) -> list[ManualReport]:
    """Reports of the last ``within`` (the rules keep only the latest per place and their own validity); plain
    rows, not ORM objects: every cycle asks, and there are rarely any."""
    rows = session.connection().execute(_RECENT_REPORTS, {"since": now - within, "now": now})
    return [ManualReport(kind, time.astimezone(UTC), value, place, by, station, note)  # type: ignore[arg-type]
            for kind, time, value, place, by, station, note in rows]

