"""What the readings modules share: time buckets, keys, and one bulk INSERT for both engines."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import (
    Table,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
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
               tail: str) -> list[Any]:
    """One bulk INSERT … ``tail`` (ON CONFLICT, RETURNING) of plain tuples, without per-row SQL or objects.

    PostgreSQL gets each column as one array through unnest (and can return rows); SQLite gets the
    driver's executemany of one prepared statement (no RETURNING there).
    """
    if not rows:
        return []
    names = ", ".join(name for name, _ in columns)
    if is_postgres(session):
        arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in columns)
        params = {name: [row[i] for row in rows] for i, (name, _) in enumerate(columns)}
        result = session.execute(text(f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {tail}"),
                                 params)
        return list(result) if "RETURNING" in tail else []
    assert "RETURNING" not in tail, "SQLite's executemany cannot return rows"
    marks = ", ".join("?" for _ in columns)
    session.connection().exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks}) {tail}", list(rows))
    return []

