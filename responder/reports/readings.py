"""Station readings for the report's chart, behind one small function.

The readings table belongs to the feeds code. The report only needs (station, quantity, time, value,
unit) rows of some stations over a window, so :func:`load_readings` reads the table by reflection
and by column names, and gives nothing (the chart then shows the declared level alone) when there
is no such table or it does not look like readings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, MetaData, Table, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

TABLE = "readings"
STATION_COLUMNS = ("station_id", "station", "station_code", "stcd")
TIME_COLUMNS = ("observed_at", "at", "time", "measured_at", "reading_at", "ts", "timestamp", "tm")
VALUE_COLUMNS = ("value", "val", "reading")
QUANTITY_COLUMNS = ("quantity", "parameter", "variable", "kind")
UNIT_COLUMNS = ("unit", "units")
MAX_ROWS = 500_000


@dataclass(frozen=True, slots=True)
class Reading:
    station_id: str
    quantity: str
    at: datetime
    """Aware UTC."""
    value: float
    unit: str


ReadingsSource = Callable[[Session, Sequence[str], datetime, datetime], list[Reading]]
"""(session, station ids, start, end) → readings in [start, end]: how the report gets its readings."""


def _first(columns: dict[str, Any], names: Sequence[str]) -> Any:
    return next((columns[n] for n in names if n in columns), None)


def _utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, str):
        try:
            return _utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def load_readings(session: Session, station_ids: Sequence[str], start: datetime, end: datetime,
                  table: str = TABLE) -> list[Reading]:
    """Readings of ``station_ids`` between ``start`` and ``end`` (inclusive), oldest first; [] if none."""
    if not station_ids:
        return []
    connection = session.connection()
    try:
        if not inspect(connection).has_table(table):
            return []
        reflected = Table(table, MetaData(), autoload_with=connection)
    except SQLAlchemyError:
        return []
    columns = {c.name.lower(): c for c in reflected.columns}
    station, when, value = (_first(columns, STATION_COLUMNS), _first(columns, TIME_COLUMNS),
                            _first(columns, VALUE_COLUMNS))
    if station is None or when is None or value is None:
        return []
    quantity, unit = _first(columns, QUANTITY_COLUMNS), _first(columns, UNIT_COLUMNS)
    wanted = [station, when, value] + [c for c in (quantity, unit) if c is not None]
    query = select(*wanted).where(station.in_([str(s) for s in station_ids]))
    if isinstance(when.type, DateTime):
        naive = connection.dialect.name == "sqlite"
        lo, hi = (t.astimezone(UTC).replace(tzinfo=None) if naive else t.astimezone(UTC) for t in (start, end))
        query = query.where(when >= lo, when <= hi)
    try:
        rows = connection.execute(query.limit(MAX_ROWS)).all()
    except SQLAlchemyError:
        return []
    out = []
    for row in rows:
        at, number = _utc(row[1]), _float(row[2])
        if at is None or number is None or not start <= at <= end:
            continue
        q = str(row[3]) if quantity is not None and row[3] is not None else ""
        u = str(row[-1]) if unit is not None and row[-1] is not None else ""
        out.append(Reading(str(row[0]), q, at, number, u))
    out.sort(key=lambda r: (r.station_id, r.quantity, r.at))
    return out
