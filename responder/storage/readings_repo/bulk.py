"""What the readings modules share: time buckets, keys, and one bulk INSERT for both engines."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Iterator, Sequence, Sized
from itertools import chain
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



def rows_into(session: Session, table: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]],
              tail: str) -> None:
    """One bulk INSERT … ``tail`` (ON CONFLICT) of plain tuples, without per-row SQL or objects.

    SQLite gets the driver's executemany of one prepared statement; PostgreSQL gets the rows by COPY into a
    temporary table (``staged``), moved into ``table`` by one INSERT … SELECT. ``rows`` may be an iterator.
    """
    if isinstance(rows, Sized) and not len(rows):
        return
    names = ", ".join(name for name, _ in columns)
    if is_postgres(session):
        staging = staged(session, table, columns, rows)
        session.connection().exec_driver_sql(f"WITH moved AS (DELETE FROM {staging} RETURNING {names}) "
                                             f"INSERT INTO {table} ({names}) SELECT {names} FROM moved {tail}")
        return
    listed = rows if isinstance(rows, list) else list(rows)
    connection = session.connection()
    row_marks = f"({', '.join('?' for _ in columns)})"
    size = _rows_per_statement(connection, len(columns))
    whole = len(listed) // size * size
    if whole:
        statement = f"INSERT INTO {table} ({names}) VALUES {', '.join([row_marks] * size)} {tail}"
        for start in range(0, whole, size):
            connection.exec_driver_sql(statement, tuple(chain.from_iterable(listed[start:start + size])))
    if whole < len(listed):
        connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES {row_marks} {tail}", listed[whole:])


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
