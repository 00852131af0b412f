"""What the readings modules share: time buckets, keys, and one bulk INSERT for both engines."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    Table,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from responder.domain.readings import epoch_seconds

HOUR = 3600
DAY = 86400
SUMMED = frozenset({"rain_mm"})
"""The quantities whose windows are sums (rain): only they get hourly totals in ``reading_hours``."""
CHUNK = 500


Key = tuple[str, str, int]


epoch = epoch_seconds


def hour_end(seconds: int) -> int:
    """The hour bucket ``(end - 3600, end]`` a reading at ``seconds`` falls in."""
    return -(-seconds // HOUR) * HOUR



def insert_for(session: Session, table: Table) -> Any:
    """INSERT with ON CONFLICT support for the session's engine."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"readings need SQLite or PostgreSQL, not {dialect}")



def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]



def same_value(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)



def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"



def rows_into(session: Session, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]],
              tail: str) -> None:
    """``columns_into`` for rows given as tuples (a batch's few hundred hourly totals, latest values, states)."""
    if rows:
        columns_into(session, table, columns, list(zip(*rows, strict=True)), tail)


def columns_into(session: Session, table: str, columns: Sequence[tuple[str, str]], data: Sequence[Sequence[Any]],
                 tail: str) -> None:
    """One bulk INSERT … ``tail`` (ON CONFLICT) of ``data``, one sequence per column, without per-row SQL or
    objects (not even a tuple per row: at a drill's million readings, those alone kept the collector busy).

    SQLite gets many rows per statement (``ROWS_PER_STATEMENT``); PostgreSQL gets them by COPY into a temporary
    table (``staged``), moved into ``table`` by one INSERT … SELECT."""
    if not data or not data[0]:
        return
    names = ", ".join(name for name, _ in columns)
    connection = session.connection()
    if is_postgres(session):
        staging = staged(session, table, columns, zip(*data, strict=True))
        connection.exec_driver_sql(f"WITH moved AS (DELETE FROM {staging} RETURNING {names}) "
                                   f"INSERT INTO {table} ({names}) SELECT {names} FROM moved {tail}")
        return
    width, count = len(columns), len(data[0])
    flat: list[Any] = [None] * (width * count)
    for i, column in enumerate(data):
        flat[i::width] = column
    row_marks = f"({', '.join('?' for _ in columns)})"
    size = _rows_per_statement(connection, width)
    whole = count // size * size
    if whole:
        statement = f"INSERT INTO {table} ({names}) VALUES {', '.join([row_marks] * size)} {tail}"
        for start in range(0, whole * width, size * width):
            connection.exec_driver_sql(statement, tuple(flat[start:start + size * width]))
    if whole < count:
        rest = flat[whole * width:]
        connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES {row_marks} {tail}",
                                   [tuple(rest[i:i + width]) for i in range(0, len(rest), width)])


ROWS_PER_STATEMENT = 500
"""SQLite: rows in one INSERT's VALUES list (at most; fewer if the build allows fewer bound values). Each row of
an executemany is a step of the driver's loop; many rows in one statement skip most of that, a quarter of the
insert's cost at a feed batch's thousands of rows."""


def _rows_per_statement(connection: Connection, width: int) -> int:
    getlimit = getattr(connection.connection.driver_connection, "getlimit", None)
    limit = getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if getlimit else 999
    return max(1, min(ROWS_PER_STATEMENT, limit // width))


def staged(session: Session, table: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]) -> str:
    """PostgreSQL: ``rows`` copied (COPY, the fastest way in) into this connection's temporary table for ``table``,
    emptied at commit; returns its name. The caller's statement moves them on (``DELETE … RETURNING``), so that
    a second batch in the same transaction finds it empty."""
    staging = f"staged_{table}"
    connection = session.connection()
    names = ", ".join(name for name, _ in columns)
    kinds = ", ".join(f"{name} {kind}" for name, kind in columns)
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ({kinds}) ON COMMIT DELETE ROWS")
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(row)
    return staging
