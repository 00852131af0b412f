"""The snapshot queries, built once per shape with bound values and cached (``cached_query``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from responder.storage.feed_models import (
    ReadingHourRow,
    ReadingLatestRow,
    ReadingRow,
)
from responder.storage.readings_repo.bulk import (
    DAY,
)

time_s = type_coerce(ReadingRow.time, BigInteger)


_queries: dict[tuple[Any, ...], Any] = {}



def bound_int(name: str) -> Any:
    """A bound whole number (seconds, a day number, an offset) in a snapshot query."""
    return bindparam(name, type_=BigInteger)



def cached_query(*shape: Any) -> Any:
    """The snapshot query of this shape (its name, then what changes its SQL), built on first use.

    Every value is a bound parameter, so a query is only ever built from the shape: nothing in it can go
    stale between cycles, databases or dialects (SQLAlchemy compiles it once per dialect)."""
    query = _queries.get(shape)
    if query is None:
        query = _queries[shape] = _BUILDERS[shape[0]](*shape[1:])
    return query



_compiled: dict[tuple[int, str], tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}


def fetch(session: Session, query: Any, params: Mapping[str, Any] | None = None) -> list[Any]:
    """The rows of a cached snapshot query as the driver gives them (plain tuples), from its SQL compiled once per
    dialect: a cycle reads a few rows per station, and the result machinery of ``execute`` (a ``Row`` per row,
    the statement cache look-up) cost as much as the driver's own fetch. Not for queries with expanding lists."""
    connection = session.connection()
    dialect = connection.dialect
    key = (id(query), dialect.name)
    known = _compiled.get(key)
    if known is None:
        compiled = query.compile(dialect=dialect)
        order = tuple(compiled.positiontup) if compiled.positional else None
        known = _compiled[key] = (compiled.string, order, dict(compiled.params))  # with the query's own literals
    sql, order, defaults = known
    values = defaults | dict(params or {})
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, tuple(values[name] for name in order) if order is not None else values)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _latest_query() -> Any:
    return select(ReadingLatestRow.station, ReadingLatestRow.quantity,
                  type_coerce(ReadingLatestRow.time, BigInteger), ReadingLatestRow.value)



def _day_of_hour(cuts: int) -> Any:
    """``LocalDays.day_of`` in SQL: the offset in effect at each bucket's last second (``s0`` until ``t1``, ...)."""
    last = ReadingHourRow.hour - 1
    if not cuts:
        return (last + bound_int("s0")) // DAY
    return case(*[(last < bound_int(f"t{i}"), (last + bound_int(f"s{i - 1}")) // DAY) for i in range(1, cuts + 1)],
                else_=(last + bound_int(f"s{cuts}")) // DAY)



def _edges_query(count: int) -> Any:
    parts = [select(literal_column(str(i), Integer).label("part"), ReadingRow.station,
                    func.sum(ReadingRow.value))
             .where(ReadingRow.quantity == "rain_mm", time_s > bound_int(f"lo{i}"),
                    time_s <= bound_int(f"hi{i}"), ReadingRow.value != 0)
             .group_by(ReadingRow.station) for i in range(count)]
    return parts[0] if count == 1 else union_all(*parts)



def _rain_query(windows: int, skip_zeros: bool, cuts: int) -> Any:
    """Sums over part of the rows are FILTERed, not CASE … ELSE 0.0: most hours of the range are in no window,
    and skipping them costs less than adding 0.0, which changes no sum (NULL where none is)."""
    h, total = ReadingHourRow.hour, ReadingHourRow.total
    sums = [func.sum(total).filter(h > bound_int(f"w{i}")).label(f"w{i}") for i in range(windows)]
    daily = _daily_rain(skip_zeros, cuts).add_columns(*sums).subquery()
    c = daily.c
    today = bound_int("today")
    wet = and_(c.total >= bindparam("below", type_=Float), c.day >= bound_int("first_day"),
               c.day < today)
    return select(c.station, func.max(c.day).filter(wet), func.sum(c.total).filter(c.day == today),
                  func.count().filter(c.day == today),
                  *[func.sum(c[f"w{i}"]) for i in range(windows)]).group_by(c.station)



def _slopes_query() -> Any:
    x = time_s - bound_int("at")
    xf: ColumnElement[float] = cast(x, Float)
    return (select(ReadingRow.station, func.count(), func.sum(xf), func.sum(ReadingRow.value), func.sum(xf * xf),
                   func.sum(xf * ReadingRow.value), func.min(x), func.max(x))
            .where(ReadingRow.quantity == "stage_m", time_s > bound_int("lo"),
                   time_s <= bound_int("at"))
            .group_by(ReadingRow.station))



def _daily_rain(skip_zeros: bool, cuts: int, *where: Any) -> Any:
    """Rain per station and local day from the hourly totals in ``(lo, hi]``: what wet days are judged on."""
    h, total = ReadingHourRow.hour, ReadingHourRow.total
    conditions = [ReadingHourRow.quantity == "rain_mm", h > bound_int("lo"), h <= bound_int("hi"), *where]
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
    last_full, at = bound_int("last_full"), bound_int("at")
    first_hour = select(func.min(h)).where(
        ReadingHourRow.station == latest.station, ReadingHourRow.quantity == latest.quantity,
        h > bound_int("start"), h <= last_full).scalar_subquery()
    reported = select(ReadingRow.station).where(
        ReadingRow.station == latest.station, ReadingRow.quantity == latest.quantity, time_s > last_full,
        time_s <= at).exists()
    return select(latest.station, latest_s, first_hour, case((latest_s > at, reported))).where(
        latest.quantity == "rain_mm")



def _windows_query(windows: int, skip_zeros: bool) -> Any:
    """The rain windows' whole hours in ``(lo, hi]`` per station (FILTERed sums, as in ``_rain_query``)."""
    h, total = ReadingHourRow.hour, ReadingHourRow.total
    conditions = [ReadingHourRow.quantity == "rain_mm", h > bound_int("lo"), h <= bound_int("hi")]
    if skip_zeros:
        conditions.append(total != literal_column("0"))
    return select(ReadingHourRow.station, *[func.sum(total).filter(h > bound_int(f"w{i}")) for i in range(windows)]
                  ).where(*conditions).group_by(ReadingHourRow.station)


def _daily_query(cuts: int) -> Any:
    return _daily_rain(False, cuts)


_BUILDERS: dict[str, Any] = {"daily": _daily_query, "windows": _windows_query, "latest": _latest_query,
                             "edges": _edges_query, "rain": _rain_query, "slopes": _slopes_query,
                             "first": _first_query, "older": _older_query}

