"""Column types that keep times aware UTC on every engine, and JSON that is JSONB on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class _Json(TypeDecorator[Any]):
    """JSON, stored as JSONB on PostgreSQL. A decorator rather than ``JSON().with_variant(JSONB(), ...)``: the
    PostgreSQL dialect (with its asyncpg and pg8000 drivers) is imported only once a PostgreSQL engine uses the
    column, not by every SQLite command at start-up (~6% of ``alert status``)."""

    impl = JSON
    cache_ok = True
    hashable = False  # as JSON's: dicts and lists cannot be hashed when the ORM de-duplicates rows
    should_evaluate_none = True  # as JSON's: None given for the column is stored as JSON null, not SQL NULL

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return JSONB()
        return self.impl_instance


JsonType = _Json()


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite returns naive values, which we mark UTC again."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]
