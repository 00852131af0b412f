"""Station readings for the report's chart, behind one small function.

The readings table belongs to the feeds code (``responder.storage.feed_models.ReadingRow``). The
report only needs (station, quantity, time, value, unit) rows of some stations over a window, so
:func:`load_readings` asks that model when the table is there, else reads any ``readings``-like
table by reflection and column names (times as datetimes, ISO text or epoch seconds), and gives
nothing (the chart then shows the declared level alone) when there is no usable table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Integer, MetaData, Table, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

TABLE = "readings"
STATION_COLUMNS = ("station_id", "station", "station_code", "stcd")
TIME_COLUMNS = ("observed_at", "at", "time", "measured_at", "reading_at", "ts", "timestamp", "tm")
VALUE_COLUMNS = ("value", "val", "reading")
QUANTITY_COLUMNS = ("quantity", "parameter", "variable", "kind")
UNIT_COLUMNS = ("unit", "units")
MODEL_COLUMNS = ("station", "quantity", "time", "value", "unit")
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
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
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
        inspector = inspect(connection)
        if not inspector.has_table(table):
            return []
        names = {c["name"] for c in inspector.get_columns(table)}
        if table == TABLE and (model := _feeds_model()) is not None and set(MODEL_COLUMNS) <= names:
            return _from_model(session, model, station_ids, start, end)
        return _reflected(session, table, station_ids, start, end)
    except SQLAlchemyError:
        return []


def _feeds_model() -> Any:
    """The feeds code's ReadingRow, if this version has it with the columns read here."""
    try:
        from responder.storage import feed_models
    except ImportError:
        return None
    model = getattr(feed_models, "ReadingRow", None)
    return model if model is not None and all(hasattr(model, c) for c in MODEL_COLUMNS) else None


def _from_model(session: Session, model: Any, station_ids: Sequence[str], start: datetime,
                end: datetime) -> list[Reading]:
    from responder.domain.stations import QUANTITIES

    # Naming every quantity lets the database walk its (quantity, time) key instead of the whole table.
    query = (select(model.station, model.quantity, model.time, model.value, model.unit)
             .where(model.quantity.in_(QUANTITIES), model.time >= start, model.time <= end,
                    model.station.in_([str(s) for s in station_ids]))
             .order_by(model.station, model.quantity, model.time).limit(MAX_ROWS))
    out = []
    for station, quantity, at, value, unit in session.execute(query):
        when, number = _utc(at), _float(value)
        if when is not None and number is not None:
            out.append(Reading(str(station), str(quantity or ""), when, number, str(unit or "")))
    return out


def _reflected(session: Session, table: str, station_ids: Sequence[str], start: datetime,
               end: datetime) -> list[Reading]:
    connection = session.connection()
    reflected = Table(table, MetaData(), autoload_with=connection)
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
    elif isinstance(when.type, Integer):  # seconds since 1970
        query = query.where(when >= math.floor(start.timestamp()), when <= math.ceil(end.timestamp()))
    out = []
    for row in connection.execute(query.limit(MAX_ROWS)).all():
        at, number = _utc(row[1]), _float(row[2])
        if at is None or number is None or not start <= at <= end:
            continue
        q = str(row[3]) if quantity is not None and row[3] is not None else ""
        u = str(row[-1]) if unit is not None and row[-1] is not None else ""
        out.append(Reading(str(row[0]), q, at, number, u))
    out.sort(key=lambda r: (r.station_id, r.quantity, r.at))
    return out
