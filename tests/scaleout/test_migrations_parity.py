"""`responder db upgrade` builds the same schema on SQLite and on PostgreSQL: the same tables, columns (type family,
length, nullability), primary keys, foreign keys, indexes, unique constraints and append-only triggers, as the
databases themselves report them; and on both the models agree with the migrations."""

from __future__ import annotations

from typing import Any

import sqlalchemy.types as sqltypes
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from typer.testing import CliRunner

from responder.cli.common import State
from responder.cli.main import app
from responder.storage.db import make_engine
from responder.storage.migrate import current_revision, head_revision
from responder.storage.schema import Base

FAMILIES: list[tuple[type[Any], str]] = [
    (sqltypes.Boolean, "boolean"),
    (sqltypes.DateTime, "datetime"),
    (sqltypes.JSON, "json"),
    (sqltypes.Integer, "integer"),
    (sqltypes.Float, "float"),
    (sqltypes.Numeric, "float"),  # SQLite reflects FLOAT as a Numeric subclass on some versions
    (sqltypes.Text, "text"),
    (sqltypes.String, "string"),
]


def family(column_type: Any) -> str:
    """A reflected type as a family both engines share (JSONB is JSON, TIMESTAMP WITH TIME ZONE is a datetime);
    strings keep their length."""
    if type(column_type).__name__ == "JSONB":
        return "json"
    for kind, name in FAMILIES:
        if isinstance(column_type, kind):
            if name == "string" and not isinstance(column_type, sqltypes.Text):
                return f"string({column_type.length})"
            if name == "text" and getattr(column_type, "length", None):
                return f"string({column_type.length})"  # VARCHAR(n) is a String, not Text, on both
            return name
    raise AssertionError(f"unexpected column type {column_type!r}")


def triggers(engine: Engine) -> set[tuple[str, str]]:
    """(table, statement) pairs that a trigger guards: the append-only tables."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
            return {(table, verb) for table, sql in rows for verb in ("UPDATE", "DELETE") if f" {verb} ON " in sql}
        rows = conn.execute(text("SELECT event_object_table, event_manipulation FROM information_schema.triggers "
                                 "WHERE trigger_schema = current_schema()")).all()
        return {(table, verb) for table, verb in rows}


def schema(engine: Engine) -> dict[str, Any]:
    inspector = inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        columns = {c["name"]: (family(c["type"]), bool(c["nullable"])) for c in inspector.get_columns(table)}
        primary = tuple(inspector.get_pk_constraint(table)["constrained_columns"])
        foreign = sorted((tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]),
                          (fk.get("options") or {}).get("ondelete", "").upper() or None)
                         for fk in inspector.get_foreign_keys(table))
        indexes = sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                         for ix in inspector.get_indexes(table) if not ix.get("duplicates_constraint"))
        uniques = sorted((uq["name"], tuple(uq["column_names"])) for uq in inspector.get_unique_constraints(table))
        out[table] = {"columns": columns, "primary_key": primary, "foreign_keys": foreign, "indexes": indexes,
                      "unique": uniques}
    out["<triggers>"] = sorted(triggers(engine))
    return out


def upgrade_with_cli(url: str) -> Engine:
    result = CliRunner().invoke(app, ["--db", url, "db", "upgrade"])
    if State.ctx is not None:  # the CLI's context outlives the command in this process: close its pool
        State.ctx.engine.dispose()
        State.ctx = None
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    assert current_revision(engine) == head_revision()
    return engine


def models_agree(engine: Engine) -> list[Any]:
    def not_apscheduler(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        return not (type_ == "table" and name is not None and name.startswith("apscheduler"))

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": not_apscheduler})
        return list(compare_metadata(context, Base.metadata))


def test_db_upgrade_builds_the_same_schema_on_sqlite_and_postgresql(sqlite_url: str, pg_url: str) -> None:
    sqlite, postgres = upgrade_with_cli(sqlite_url), upgrade_with_cli(pg_url)
    try:
        on_sqlite, on_postgres = schema(sqlite), schema(postgres)
        assert set(on_sqlite) == set(on_postgres), "the same tables"
        for table in on_sqlite:
            assert on_sqlite[table] == on_postgres[table], f"{table} differs between SQLite and PostgreSQL"
        # Not vacuous: the parts the scale-out relies on are there on both.
        assert ("audit_events", "UPDATE") in on_sqlite["<triggers>"]
        assert ("audit_events", "DELETE") in on_sqlite["<triggers>"]
        assert {"leases", "rate_slots", "escalation_steps", "outbox"} <= set(on_sqlite)
        assert ("uq_outbox_dedupe_key", ("dedupe_key",)) in on_sqlite["outbox"]["unique"]
        assert ("uq_incidents_open_key", ("open_key",)) in on_sqlite["incidents"]["unique"]
        assert any(ix[1] == ("status", "due_at") for ix in on_sqlite["outbox"]["indexes"])
        assert models_agree(sqlite) == [] and models_agree(postgres) == []
        # A second upgrade changes nothing.
        upgrade_with_cli(sqlite_url).dispose()
        upgrade_with_cli(pg_url).dispose()
        assert schema(sqlite) == on_sqlite and schema(postgres) == on_postgres
    finally:
        sqlite.dispose()
        postgres.dispose()
