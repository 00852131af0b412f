"""Each rain gauge's dry-day state, kept as its readings are stored: its latest local day with a reading, that
day's rain, the last wet day before it and its first day (``rain_state``), so that a cycle counts dry days
from one row per gauge, however long the history (issue 18).

The days are cut in the zone, and wet means the threshold, that ``state_basis`` names. Without that row
nothing is kept and a cycle sums the hourly totals as before; ``rebuild`` (``responder init``, ``responder db
rebuild-state``) fills it from the hourly totals for the plan's zone and threshold, and a plan that changes
either is read the old way until it runs again. Rain only adds up, so a day once wet stays wet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from responder.domain.derived import count_dry_days, day_start, local_day, utc_offsets
from responder.storage.feed_models import RainStateRow, ReadingHourRow, StateBasisRow
from responder.storage.readings_repo.bulk import HOUR, rows_into
from responder.storage.readings_repo.snapshot_sql import cached_query

QUANTITY = "rain_mm"
_COLUMNS = (("station", "varchar"), ("day", "int"), ("day_total", "float8"), ("wet_before", "int"),
            ("first_day", "int"))
_UPSERT = ("ON CONFLICT (station) DO UPDATE SET day = excluded.day, day_total = excluded.day_total, "
           "wet_before = excluded.wet_before, first_day = excluded.first_day")


class RainState(NamedTuple):
    day: int
    day_total: float
    wet_before: int | None
    first_day: int


class Basis(NamedTuple):
    zone: tzinfo
    zone_name: str
    dry_below_mm: float


def zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)


def basis(session: Session) -> Basis | None:
    """What the state is cut by, or None: not kept (or a zone this machine does not know)."""
    row = session.connection().exec_driver_sql(_BASIS).first()  # every batch asks: plain SQL, nothing to compile
    if row is None:
        return None
    try:
        zone: tzinfo = UTC if row.zone == "UTC" else ZoneInfo(row.zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return Basis(zone, row.zone, float(row.dry_below_mm))


_BASIS = "SELECT zone, dry_below_mm FROM state_basis"


def is_kept(session: Session, zone: tzinfo, dry_below_mm: float) -> bool:
    kept = basis(session)
    return kept is not None and kept.zone_name == zone_name(zone) and kept.dry_below_mm == dry_below_mm


def read(session: Session, zone: tzinfo, dry_below_mm: float) -> dict[str, RainState] | None:
    """Every gauge's state, if it is kept for this zone and threshold; None: count dry days the old way."""
    if not is_kept(session, zone, dry_below_mm):
        return None
    table = RainStateRow
    rows = session.connection().execute(select(table.station, table.day, table.day_total, table.wet_before,
                                               table.first_day))
    return {station: RainState(day, total, wet, first) for station, day, total, wet, first in rows}


def advance(session: Session, sums: Mapping[tuple[str, str, int], list[float]]) -> None:
    """Add a batch's new hourly rain (``(station, quantity, hour)`` → [total, count]) to the gauges' state, in
    the caller's transaction, after the hourly totals themselves (a back-filled day is summed from them).

    A day at or after a gauge's row is stepped by the database (``_FORWARD``: no row read into Python, and none
    written where nothing changes, as for most readings of a dry spell); the few gauges whose row is on a later
    day than one of the batch's (a back-filled day) are read and stepped here (``_step``)."""
    kept = basis(session) if any(q == QUANTITY for _, q, _ in sums) else None
    if kept is None:
        return
    days: dict[int, int] = {}
    added: dict[str, dict[int, float]] = {}
    for (station, quantity, hour), (total, _) in sums.items():
        if quantity != QUANTITY:
            continue
        day = days.get(hour)
        if day is None:
            day = days[hour] = local_day(datetime.fromtimestamp(hour, UTC), kept.zone)
        per_day = added.get(station)
        if per_day is None:
            added[station] = {day: total}
        else:
            per_day[day] = per_day.get(day, 0.0) + total
    ahead = _ahead_of(session, min(days.values()))
    stepped = []
    forward: list[list[tuple[str, int, float, None, int]]] = [[]]
    for station, per_day in added.items():
        row = ahead.get(station)
        if row is None:  # every day of the batch at or after the row's (or no row yet): the database steps it
            if len(per_day) == 1:
                ((day, rain),) = per_day.items()
                forward[0].append((station, day, rain, None, day))
                continue
            for rank, day in enumerate(sorted(per_day)):
                if rank == len(forward):
                    forward.append([])
                forward[rank].append((station, day, per_day[day], None, day))
            continue
        before = state = row
        for day in sorted(per_day):
            state = _step(session, kept, station, state, day, per_day[day])
        if state != before:
            stepped.append((station, *state))
    rows_into(session, "rain_state", _COLUMNS, stepped, _UPSERT)
    for rows in forward:  # a gauge's days in order, one statement each (PostgreSQL updates a row once a statement)
        rows_into(session, "rain_state", _COLUMNS, rows, _FORWARD)


_FORWARD = ("ON CONFLICT (station) DO UPDATE SET day = excluded.day, "
            "day_total = CASE WHEN excluded.day = rain_state.day THEN rain_state.day_total + excluded.day_total "
            "ELSE excluded.day_total END, "
            "wet_before = CASE WHEN excluded.day > rain_state.day AND rain_state.day_total >= "
            "(SELECT dry_below_mm FROM state_basis) THEN rain_state.day ELSE rain_state.wet_before END "
            "WHERE excluded.day > rain_state.day OR rain_state.day_total + excluded.day_total <> rain_state.day_total")
"""``_step`` for a day at or after the row's, in SQL: a new day (the one before it was wet or not, and stays so)
or more rain on the same day; a row that would not change is not written."""


def _step(session: Session, kept: Basis, station: str, state: RainState | None, day: int,
          rain: float) -> RainState:
    if state is None:
        return RainState(day, rain, None, day)
    if day > state.day:  # a new day: the one before it was wet or not, and stays so
        wet = state.day if state.day_total >= kept.dry_below_mm else state.wet_before
        return RainState(day, rain, wet, state.first_day)
    if day == state.day:
        return RainState(day, state.day_total + rain, state.wet_before, state.first_day)
    # A back-filled day: its whole rain is in the hourly totals by now.
    total = _day_total(session, kept.zone, station, day)
    wet = state.wet_before
    if total >= kept.dry_below_mm and (wet is None or day > wet):
        wet = day
    return state._replace(wet_before=wet, first_day=min(state.first_day, day))


def _day_total(session: Session, zone: tzinfo, station: str, day: int) -> float:
    h = ReadingHourRow
    total = session.connection().execute(
        select(func.sum(h.total)).where(h.station == station, h.quantity == QUANTITY,
                                        h.hour > day_start(day, zone), h.hour <= day_start(day + 1, zone))).scalar()
    return float(total or 0.0)


def _ahead_of(session: Session, day: int) -> dict[str, RainState]:
    """The gauges whose row is on a day after ``day`` (the batch's first): only they can have a day back-filled."""
    return {station: RainState(day, total, wet, first)
            for station, day, total, wet, first in session.connection().execute(_AHEAD, {"day": day})}


_AHEAD = select(RainStateRow.station, RainStateRow.day, RainStateRow.day_total, RainStateRow.wet_before,
                RainStateRow.first_day).where(RainStateRow.day > bindparam("day"))


def rebuild(session: Session, zone: tzinfo, dry_below_mm: float) -> int:
    """Recompute every gauge's state from the hourly totals, cut by ``zone`` and ``dry_below_mm`` from now on;
    returns how many gauges have one. The same rows as keeping it up reading by reading (a test holds it to that)."""
    connection = session.connection()
    connection.execute(delete(RainStateRow))
    connection.execute(delete(StateBasisRow))
    connection.execute(StateBasisRow.__table__.insert().values(id=1, zone=zone_name(zone),  # type: ignore[attr-defined]
                                                                dry_below_mm=dry_below_mm))
    h = ReadingHourRow
    lo, hi = connection.execute(select(func.min(h.hour), func.max(h.hour)).where(h.quantity == QUANTITY)).one()
    if lo is None:
        return 0
    offsets = utc_offsets(zone, int(lo) - HOUR, int(hi))
    params: dict[str, Any] = {"lo": int(lo) - 1, "hi": int(hi)}
    params |= {f"s{i}": shift for i, (_, shift) in enumerate(offsets)}
    params |= {f"t{i}": since for i, (since, _) in enumerate(offsets) if i}
    states: dict[str, RainState] = {}
    daily = sorted(connection.execute(cached_query("daily", len(offsets) - 1), params).all(),
                   key=lambda row: (row[0], row[1]))
    for station, day, total in daily:
        state = states.get(station)
        day, total = int(day), float(total or 0.0)
        if state is None:
            states[station] = RainState(day, total, None, day)
        else:
            wet = state.day if state.day_total >= dry_below_mm else state.wet_before
            states[station] = RainState(day, total, wet, state.first_day)
    rows_into(session, "rain_state", _COLUMNS, [(station, *state) for station, state in states.items()], _UPSERT)
    return len(states)


def dry_days(states: Mapping[str, RainState], today: int, horizon_first: int,
             dry_below_mm: float) -> tuple[dict[str, int | None], dict[str, int | None]] | None:
    """Each gauge's dry days today within the horizon that starts on ``horizon_first``, as the hourly totals
    give them (``derived.count_dry_days``), and apart, the gauges with no wet day in the horizon whose data
    begins before it (their count starts at their first day in the horizon: ``first_in_horizon``), with
    their last day. None if a row is from after today (rain stored after ``now``): the caller sums the old way."""
    out: dict[str, int | None] = {}
    pending: dict[str, int | None] = {}
    for station, state in states.items():
        if state.day < horizon_first:
            continue  # nothing in the horizon
        if state.day > today:
            return None
        wet = state.day if state.day_total >= dry_below_mm else state.wet_before
        if wet is not None and wet < horizon_first:
            wet = None
        if wet is None and state.first_day < horizon_first:
            pending[station] = state.day
        else:
            out[station] = count_dry_days(today, wet, state.first_day)
    return out, pending


def first_in_horizon(session: Session, stations: Iterable[str], start: int, last_full: int) -> dict[str, int]:
    """The first whole hour bucket in ``(start, last_full]`` of each of ``stations`` that has one (an index seek
    each: a drought's few gauges)."""
    names = sorted(stations)
    if not names:
        return {}
    h = ReadingHourRow
    query = (select(h.station, func.min(h.hour)).where(h.quantity == QUANTITY, h.station.in_(names),
                                                       h.hour > start, h.hour <= last_full).group_by(h.station))
    return {station: int(hour) for station, hour in session.connection().execute(query) if hour is not None}
