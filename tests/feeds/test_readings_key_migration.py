"""Migration 0008 re-keys the readings table by (quantity, time, station) and keeps every reading, both ways."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from responder.storage import migrate
from responder.storage.db import make_engine

ROWS = [("rain-a", "rain_mm", 1_780_000_300, 1.5), ("rain-a", "rain_mm", 1_780_000_600, 0.0),
        ("river-b", "stage_m", 1_780_000_300, 4.25), ("河-丙", "stage_m", 1_780_000_900, 5.5)]


def _readings(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT station, quantity, time, value FROM readings ORDER BY station, quantity, time"))]


def test_0008_keeps_the_readings_and_changes_only_the_key(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine, "0007")
        with engine.begin() as conn:
            for station, quantity, t, value in ROWS:
                conn.execute(text("INSERT INTO readings (station, quantity, time, value, unit, source, received_at) "
                                  "VALUES (:s, :q, :t, :v, 'u', 'test', CURRENT_TIMESTAMP)"),
                             {"s": station, "q": quantity, "t": t, "v": value})
        assert migrate.upgrade(engine) == ("0007", migrate.head_revision())
        assert _readings(engine) == sorted(ROWS)
        assert inspect(engine).get_pk_constraint("readings")["constrained_columns"] == ["quantity", "time", "station"]
        assert [ix["name"] for ix in inspect(engine).get_indexes("readings")] == []
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                assert "WITHOUT ROWID" in conn.execute(text(
                    "SELECT sql FROM sqlite_master WHERE name = 'readings'")).scalar_one()
        cfg = migrate.alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0007")
        assert _readings(engine) == sorted(ROWS)
        assert inspect(engine).get_pk_constraint("readings")["constrained_columns"] == ["station", "quantity", "time"]
        assert [ix["name"] for ix in inspect(engine).get_indexes("readings")] == ["ix_readings_window"]
    finally:
        engine.dispose()
