"""``snapshots``: every station's snapshot at a time from a handful of GROUP BY queries, however many stations."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    func,
    select,
)
from sqlalchemy.orm import Session

from responder.domain.derived import (
    STALE_FACTOR,
    Latest,
    SlopeSums,
    SnapshotSpec,
    count_dry_days,
    min_span,
)
from responder.domain.snapshot_columns import SnapshotColumns
from responder.domain.stations import Station
from responder.storage.feed_models import (
    ReadingRow,
)
from responder.storage.readings_repo import rain_state
from responder.storage.readings_repo.bulk import (
    HOUR,
    epoch,
    hour_end,
)
from responder.storage.readings_repo.local_days import LocalDays
from responder.storage.readings_repo.snapshot_sql import cached_query, fetch, time_s

OLDER_DAYS = (8, 30)
"""Then back to these many days before today, then to the end of the horizon."""
NAMED_STATIONS = 500
"""Up to this many stations still dry are named in the query (an index seek each); more, and all are read."""


def snapshots(session: Session, stations: Iterable[Station], now: datetime,
              spec: SnapshotSpec | None = None) -> SnapshotColumns:
    """Snapshots of every station at ``now``: a handful of GROUP BY queries, whatever the number of stations.

    Rain sums leave out zero rows, which add nothing: sorting rows for GROUP BY is most of what these
    queries cost, and most rain rows are zero (a dry spell, the gauges a storm misses). The queries are
    built once per shape with bound values (``cached_query``) and run on the session's connection, without the
    ORM: at a cycle every few minutes, building and dispatching them cost as much as running them. The result is
    columns (``SnapshotColumns``): a station's ``StationSnapshot`` is made only when asked for.
    """
    spec = spec or SnapshotSpec()
    stations = list(stations)
    at = epoch(now)
    rain = any(s.measures("rain_mm") for s in stations)
    stage = any(s.measures("stage_m") for s in stations)
    latest, ahead = _latest(session, now, stations)
    totals: Totals = {w: {} for w in spec.windows}
    dry: dict[str, int | None] = {}
    if rain:
        days = LocalDays(now, spec)
        plans = _window_plans(at, spec.windows)
        edges = _edge_sums(session, plans)
        # Dry days from each gauge's state row where it is kept and tells (no rain stored after ``now``).
        states = None if "rain_mm" in ahead else rain_state.read(session, spec.zone, spec.dry_below_mm)
        kept = None if states is None else _dry_from_state(session, days, spec, states)
        if kept is None:
            totals, wet_days = _rain_hours(session, days, spec, plans)
            _add_edges(totals, plans, edges)
            dry = _dry_days(session, days, spec, wet_days, edges.get((days.last_full, at), {}))
        else:
            totals, dry = _window_hours(session, days, spec, plans), kept
            _add_edges(totals, plans, edges)
    rates = {lb: _rates(session, at, lb) if stage else {} for lb in spec.lookbacks}
    return SnapshotColumns.compose(stations, now, latest, totals, rates, dry)



def _latest(session: Session, now: datetime, stations: Sequence[Station],
            ) -> tuple[dict[str, dict[str, Latest]], set[str]]:
    """Latest value per station and quantity; newer-than-``now`` ones (a clock set back) looked up again, and
    the quantities that had some."""
    out: dict[str, dict[str, Latest]] = {}
    ahead: set[tuple[str, str]] = set()
    at = epoch(now)
    times: dict[int, datetime] = {}  # gauges report on the same ticks: one datetime per distinct second
    for station, quantity, seconds, value in fetch(session, cached_query("latest")):
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
        newest = (select(ReadingRow.station, ReadingRow.quantity, func.max(time_s).label("t"))
                  .where(ReadingRow.quantity.in_(sorted({q for _, q in ahead})), time_s <= epoch(now),
                         time_s > epoch(now - horizon))
                  .group_by(ReadingRow.station, ReadingRow.quantity).subquery())
        query = select(ReadingRow.station, ReadingRow.quantity, ReadingRow.time, ReadingRow.value).join(
            newest, and_(ReadingRow.station == newest.c.station, ReadingRow.quantity == newest.c.quantity,
                         time_s == newest.c.t))
        for station, quantity, time, value in session.execute(query):
            if (station, quantity) in ahead:
                out.setdefault(station, {})[quantity] = Latest(time, value)
    return out, {quantity for _, quantity in ahead}



Span = tuple[int, int]
_Plan = tuple[timedelta, int | None, tuple[Span, ...]]
Totals = dict[timedelta, dict[str, float]]
"""Per window, each gauge's rain (gauges without rain rows left out)."""



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
    for part, station, total in fetch(session, cached_query("edges", len(spans)), params):
        out[spans[part]][station] = float(total)
    return out



WetDays = dict[str, tuple[int | None, float, bool]]
"""Per station: the last wet day before today, today's rain in whole hours, and whether it has any."""



def _rain_hours(session: Session, days: LocalDays, spec: SnapshotSpec,
                plans: Sequence[_Plan]) -> tuple[Totals, WetDays]:
    """From one pass over the recent hourly buckets: each window's whole hours, today's rain and the last wet
    day since ``days.recent`` (``_older_wet`` looks further back where there is none)."""
    full = [(w, first) for w, first, _ in plans if first is not None]
    params = {f"w{i}": first for i, (_, first) in enumerate(full)} | {
        "lo": min([days.hour_after(days.recent)] + [first for _, first in full]), "hi": days.last_full,
        "below": spec.dry_below_mm, "first_day": days.recent, "today": days.today} | days.params
    totals: Totals = {w: {} for w, _, _ in plans}
    columns = [totals[w] for w, _ in full]
    wet_days: WetDays = {}
    for station, wet, today_total, today_seen, *sums in session.connection().execute(
            cached_query("rain", len(full), spec.dry_below_mm > 0, days.cuts), params).all():
        wet_days[station] = (None if wet is None else int(wet), float(today_total or 0), bool(today_seen))
        for column, v in zip(columns, sums, strict=True):
            column[station] = float(v or 0.0)
    return totals, wet_days



def _dry_from_state(session: Session, days: LocalDays, spec: SnapshotSpec,
                    states: dict[str, rain_state.RainState]) -> dict[str, int | None] | None:
    """Dry days per rain gauge from its state row; a gauge dry all through the horizon with data from before
    it counts from its first hour in the horizon (or today, with only the current hour)."""
    told = rain_state.dry_days(states, days.today, days.first, spec.dry_below_mm)
    if told is None:
        return None
    dry, pending = told
    firsts = rain_state.first_in_horizon(session, pending, days.start, days.last_full)
    for station in pending:
        first = firsts.get(station)
        dry[station] = count_dry_days(days.today, None, days.today if first is None else days.day_of(first))
    return dry


def _window_hours(session: Session, days: LocalDays, spec: SnapshotSpec,
                  plans: Sequence[_Plan]) -> Totals:
    """Each window's whole hours per station, and nothing older (the dry days come from the state rows)."""
    totals: Totals = {w: {} for w, _, _ in plans}
    full = [(w, first) for w, first, _ in plans if first is not None]
    if not full:
        return totals
    params = {f"w{i}": first for i, (_, first) in enumerate(full)} | {
        "lo": min(first for _, first in full), "hi": days.last_full}
    rows = fetch(session, cached_query("windows", len(full), spec.dry_below_mm > 0), params)
    for i, (w, _) in enumerate(full, start=1):  # a column at a time: no dict per station
        totals[w] = {row[0]: float(row[i] or 0.0) for row in rows}
    return totals


def _add_edges(totals: Totals, plans: Sequence[_Plan], edges: dict[Span, dict[str, float]]) -> None:
    """Add the partial hours (a gauge without any rain has 0.0 in every window, as the pure functions give it)."""
    for window, _, spans in plans:
        column = totals[window]
        for span in spans:
            for station, rain in edges[span].items():
                column[station] = column.get(station, 0.0) + rain



def _rates(session: Session, at: int, lookback: timedelta) -> dict[str, float | None]:
    """Rate of rise per station with stage readings in ``(at - lookback, at]``, from least-squares sums
    (``SlopeSums``, x in hours before ``at``) added up by SQL."""
    span = min_span(lookback)
    out: dict[str, float | None] = {}
    params = {"at": at, "lo": at - math.floor(lookback.total_seconds())}
    for station, n, sx, sy, sxx, sxy, first, last in fetch(session, cached_query("slopes"), params):
        out[station] = SlopeSums.line(int(n), sx / HOUR, sy, sxx / HOUR**2, sxy / HOUR, first / HOUR, last / HOUR,
                                      span)
    return out



def _dry_days(session: Session, days: LocalDays, spec: SnapshotSpec, wet_days: WetDays,
              current_hour: dict[str, float]) -> dict[str, int | None]:
    """Consecutive dry days per rain station, from ``_rain_hours``' wet days and the rain of the current
    hour, and for stations dry since ``days.recent``, ``_older_wet``. Where each station's data begins is an
    index seek per station; whether it reported in the current hour is its latest report's time (looked up
    only when that is after ``now``)."""
    today, at, last_full = days.today, days.at, days.last_full
    params = {"start": days.start, "last_full": last_full, "at": at}
    known: dict[str, tuple[int | None, int]] = {}
    """Per station with data in the horizon: its last wet day as far as known, and its first day of data."""
    rows = session.connection().execute(cached_query("first"), params).all()
    for station, latest, first_hour, ahead_reported in rows:
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



def _older_wet(session: Session, days: LocalDays, spec: SnapshotSpec, dry: dict[str, int]) -> dict[str, int]:
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
                cached_query("older", spec.dry_below_mm > 0, named, days.cuts), params).all():
            if station in pending:
                found[station] = int(day)
                del pending[station]
    return found

