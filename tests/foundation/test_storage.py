"""Storage on SQLite and PostgreSQL: aware UTC times, an append-only audit table, migrations that
match the models."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, delete, insert, inspect, select, update
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session

from responder.storage import migrate
from responder.storage.db import make_engine, reading
from responder.storage.models import AuditEventRow, PersonRow
from responder.storage.schema import Base


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A freshly migrated database, on both engines."""
    engine = make_engine(db_url)
    assert migrate.upgrade(engine) == (None, migrate.head_revision())
    yield engine
    engine.dispose()


def _not_apscheduler(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (type_ == "table" and name is not None and name.startswith("apscheduler"))


def assert_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _not_apscheduler})
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_and_models_agree_down_and_up_again(engine: Engine) -> None:
    assert_models_match_migrations(engine)
    cfg = migrate.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert migrate.upgrade(engine) == (None, migrate.head_revision())
    assert migrate.upgrade(engine) == (migrate.head_revision(), migrate.head_revision())
    assert_models_match_migrations(engine)


def test_times_come_back_aware_utc(engine: Engine) -> None:
    local = datetime(2027, 7, 1, 9, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    with Session(engine) as session, session.begin():
        session.add(PersonRow(id="T1", name="时间", phone="+8617400900001", language="zh", village="", active=True,
                              updated_at=local))
        session.add(AuditEventRow(at=local.astimezone(timezone(timedelta(hours=-5))), actor="test", kind="test",
                                  summary="time zones", evidence={}))
    with Session(engine) as session:
        stored = [session.scalars(select(PersonRow.updated_at)).one(), session.scalars(select(AuditEventRow.at)).one()]
    for when in stored:
        assert when.tzinfo is UTC
        assert when == local
        assert when.hour == 1


def test_naive_times_are_refused(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    try:
        with Session(engine) as session, pytest.raises(StatementError, match="naive datetime"):
            session.add(PersonRow(id="T1", name="n", phone="+8617400900001", language="zh", village="", active=True,
                                  updated_at=datetime(2027, 7, 1, 9, 30)))
            session.flush()
    finally:
        engine.dispose()


def test_audit_events_are_append_only(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add(AuditEventRow(at=datetime(2027, 7, 1, tzinfo=UTC), actor="duty officer", kind="raised",
                                  summary="level 2", reason="水位到达警戒线", evidence={"station": "龙河"}))
    for statement in (update(AuditEventRow).values(summary="rewritten"), delete(AuditEventRow)):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    with Session(engine) as session:
        [row] = session.scalars(select(AuditEventRow)).all()
        assert (row.summary, row.reason, row.evidence) == ("level 2", "水位到达警戒线", {"station": "龙河"})


def test_a_reading_connection_neither_waits_for_nor_blocks_a_writer_on_sqlite(sqlite_url: str) -> None:
    """``reading`` connections (the loop's "anything due?") take no write lock: with a writer's transaction
    open they read the last committed state at once, and a writer can start while one is open."""
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    with engine.begin() as writer:
        writer.execute(insert(PersonRow).values(_person("P1")))
    with engine.begin() as writer:  # BEGIN IMMEDIATE: holds the write lock
        writer.execute(insert(PersonRow).values(_person("P2")))
        with reading(engine) as reader:
            assert list(reader.scalars(select(PersonRow.id))) == ["P1"]
    with reading(engine) as reader:
        assert sorted(reader.scalars(select(PersonRow.id))) == ["P1", "P2"]
        with engine.begin() as writer:
            writer.execute(update(PersonRow).where(PersonRow.id == "P1").values(name="renamed"))
    engine.dispose()


def _person(pid: str) -> dict[str, object]:
    return {"id": pid, "name": pid, "phone": "+86174009000" + pid[-2:].rjust(2, "0"), "language": "zh",
            "village": "", "active": True, "updated_at": datetime(2027, 7, 1, 1, 30, tzinfo=UTC)}


def test_the_schema_questions_get_alembics_answers_without_importing_it(db_url: str) -> None:
    """``require_schema`` asks without Alembic (it cost a fifth of a command's start-up): the same answers."""
    from alembic.script import ScriptDirectory

    engine = make_engine(db_url)
    try:
        assert migrate.current_revision(engine) is None, "not set up yet"
        assert migrate.upgrade(engine, "0005") == (None, "0005")
        with engine.connect() as conn:
            assert migrate.current_revision(engine) == "+".join(MigrationContext.configure(conn).get_current_heads())
        heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
        assert migrate.head_revision() == "+".join(sorted(heads))
    finally:
        engine.dispose()
