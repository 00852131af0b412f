"""China's real-time hydrological database (SL 323, 实时雨水情数据库) through any SQLAlchemy URL.

Tables by station kind: ST_PPTN_R (rain: STCD, TM, DRP period rain mm, INTV, ...), ST_RIVER_R
(river: STCD, TM, Z stage m, Q flow m3/s, ...), ST_RSVR_R (reservoir: STCD, TM, RZ level m, INQ,
W storage 10^6 m3, OTQ, ...). The standard's units are ours, so values are taken as they are. TM is
local time (the station's zone, else the feed's, else the plan's). Tables and columns are reflected and matched without
regard to case, so upper-case names quoted in PostgreSQL are found as well as folded ones. Only rows
with TM after ``since`` (default: the feed's lookback) are read. A missing table or column is a feed
error; the other tables are still read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, DateTime, Engine, MetaData, Table, create_engine, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from responder.domain.readings import RawReading
from responder.domain.stations import CANONICAL_UNIT, SL323_COLUMNS, SL323_TABLE, Station
from responder.feeds.base import FeedContext
from responder.feeds.http import FeedError

CHUNK = 500
"""Station codes per ``IN (...)``: well below every engine's limit on bound parameters."""


def read(ctx: FeedContext) -> None:
    tables: dict[str, list[Station]] = {}
    for shared in ctx.index.values():
        for station in shared:
            tables.setdefault(SL323_TABLE[station.kind], []).append(station)
    if not tables:
        ctx.result.notes.append("no stations are read from this feed")
        return
    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            names = {name.upper(): name for name in inspect(conn).get_table_names(schema=ctx.feed.database_schema)}
            for standard, stations in sorted(tables.items()):
                actual = names.get(standard)
                if actual is None:
                    ctx.result.fail(f"table {standard} is missing from the database")
                    continue
                _read_table(ctx, conn, standard, actual, stations)
    except SQLAlchemyError as exc:
        raise FeedError(f"database error: {_first_line(exc)}") from None
    finally:
        engine.dispose()


def _engine(ctx: FeedContext) -> Engine:
    assert ctx.feed.database_url is not None
    try:
        url = make_url(ctx.feed.database_url)
        timeout = ctx.feed.timeout.total_seconds()
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite":
            database = url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                path = Path(database)
                if not path.is_absolute() and ctx.base_dir is not None:
                    url = url.set(database=str(ctx.base_dir / path))
                    path = ctx.base_dir / path
                if not path.exists():
                    raise FeedError(f"database file not found: {path}")
            connect_args["timeout"] = timeout
        elif url.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = max(1, int(timeout))
            # The timeout bounds the queries too (one per table and chunk of stations), not just the connection.
            connect_args["options"] = f"-c statement_timeout={int(timeout * 1000)}"
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (SQLAlchemyError, ImportError) as exc:
        raise FeedError(f"cannot use database URL: {_first_line(exc)}") from None


def _read_table(ctx: FeedContext, conn: Connection, standard: str, actual: str, stations: Sequence[Station]) -> None:
    table = Table(actual, MetaData(), autoload_with=conn, schema=ctx.feed.database_schema)
    columns = {c.name.upper(): c for c in table.columns}
    absent = [name for name in ("STCD", "TM") if name not in columns]
    values = {name: quantity for name, quantity in SL323_COLUMNS[standard].items() if name in columns}
    if absent or not values:
        missing = absent or list(SL323_COLUMNS[standard])
        ctx.result.fail(f"changed schema: {standard} has no column {', '.join(missing)}")
        return
    stcd, tm = columns["STCD"], columns["TM"]
    since = ctx.since or ctx.now - ctx.feed.lookback
    # TM is local to each station's zone (its own, else the feed's): the earliest of those bounds the query.
    zones = {ctx.time_zone, *(s.zone for s in stations if s.zone)}
    local = min(since.astimezone(zone).replace(tzinfo=None) for zone in zones)
    after: datetime | str = local if isinstance(tm.type, DateTime) else local.strftime("%Y-%m-%d %H:%M:%S")
    codes = sorted({s.source for s in stations})
    selected: list[Column[Any]] = [stcd, tm, *(columns[name] for name in values)]
    for start in range(0, len(codes), CHUNK):
        query = select(*selected).where(tm > after, stcd.in_(codes[start:start + CHUNK])).order_by(tm)
        for row in conn.execute(query):
            _row(ctx, standard, str(row[0]).strip(), row[1], dict(zip(values, row[2:], strict=True)), values)


def _row(ctx: FeedContext, standard: str, code: str, tm: Any, found: dict[str, Any], values: dict[str, Any]) -> None:
    where = f"{standard} STCD={code} TM={tm}"
    raw = f"{standard}: STCD={code}, TM={tm}, " + ", ".join(f"{k}={v}" for k, v in found.items())
    for column, value in found.items():
        quantity = values[column]
        if not ctx.wants(code, quantity):
            continue
        if value is None:
            ctx.result.missing += 1
            continue
        number = float(value) if isinstance(value, Decimal | int | float) else str(value)
        ctx.add(RawReading(ctx.feed.id, code, tm, number, quantity, CANONICAL_UNIT[quantity], raw,
                           f"{where} {column}"))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
