"""Migration 0010 adds the call-out history and fills it from the recipients already there, both ways."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, inspect, text

from responder.storage import migrate
from responder.storage.callouts import Callout, history
from responder.storage.db import make_engine

RAISED = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)


def _seed_0009(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO incidents (id, code, hazard, area, level, status, is_drill, reason, raised_by, raised_at, "
            "level_changed_at, plan_snapshot, roster_snapshot) VALUES (1, 'K7', 'flood', 'sanjian', 2, 'open', "
            ":no, 'test', 'tester', :at, :at, '{}', '[]')"), {"at": RAISED.replace(tzinfo=None), "no": False})
        for pid, assignments in (("R001", '[{"group": "rescue", "role": "leader"}, {"group": "command"}]'),
                                 ("Z001", '[{"zone": "school"}]'), ("X001", '[{"chain": "county"}]')):
            conn.execute(text(
                "INSERT INTO recipients (incident_id, person_id, name, phone, language, assignments, called_at, "
                "called_level) VALUES (1, :pid, :pid, :phone, 'zh', :a, :at, 2)"),
                {"pid": pid, "phone": "+86174" + pid[1:], "a": assignments, "at": RAISED.replace(tzinfo=None)})


def test_0010_fills_the_history_from_the_recipients_and_goes_back(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine, "0009")
        _seed_0009(engine)
        assert migrate.upgrade(engine) == ("0009", migrate.head_revision())
        with engine.connect() as conn:
            found = history(conn, 1)
        assert found == {"R001": [Callout(RAISED, 2, ("rescue", "command"), ())],
                         "Z001": [Callout(RAISED, 2, (), ("school",))],
                         "X001": [Callout(RAISED, 2, (), ())]}
        assert [ix["name"] for ix in inspect(engine).get_indexes("callouts")] == ["ix_callouts_person"]
        cfg = migrate.alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0009")
        assert "callouts" not in inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM recipients")).scalar_one() == 3
        assert migrate.upgrade(engine)[1] == migrate.head_revision()
    finally:
        engine.dispose()
