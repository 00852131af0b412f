"""A claim on SQLite looks up the rows it picks by id: it must not cost as much as the whole queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.sql.dml import ReturningUpdate

from responder.storage import migrate
from responder.storage.db import make_engine
from responder.storage.outbox import TAKE_DUE, TAKE_DUE_LOOKING


@pytest.mark.parametrize("claim", [TAKE_DUE, TAKE_DUE_LOOKING], ids=["claim", "claim and look"])
def test_a_sqlite_claim_takes_the_picked_rows_by_id_not_by_walking_every_pending_row(
        tmp_path: Path, claim: ReturningUpdate[object]) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    try:
        migrate.upgrade(engine)
        sql = str(claim.compile(engine))
        with engine.connect() as conn:
            steps = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, (None,) * sql.count("?"))]
        assert steps[0].startswith("SEARCH outbox USING INTEGER PRIMARY KEY"), steps
        assert any("ix_outbox_due" in step for step in steps), steps  # the sub-select picks through the due index
        # a claim that also looks finds each row's recipient by incident and person, not by walking the call-out
        assert all("(incident_id=? AND person_id=?)" in step for step in steps if "recipients" in step), steps
    finally:
        engine.dispose()
