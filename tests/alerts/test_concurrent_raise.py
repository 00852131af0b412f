"""Two duty officers raising at the same moment, each through their own connection: the database decides."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from alerts_support import REASON, outbox, row_counts, sibling
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from responder.app.alerts import Outcome, end_alert, raise_alert
from responder.domain.errors import Conflict
from responder.storage.db import transaction
from responder.storage.models import IncidentRow
from responder.wiring import AppContext


def at_once(ctx: AppContext, calls: list[Callable[[AppContext], Outcome]]) -> list[Outcome | BaseException]:
    """Run each call in its own thread with its own AppContext (engine, connections) on the same database."""
    contexts = [sibling(ctx) for _ in calls]
    for c in contexts:
        c.require_schema()  # connect before the start line, so that the calls really overlap
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i](contexts[i])
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for c in contexts:
        c.engine.dispose()
    return results


def open_incidents(ctx: AppContext) -> list[IncidentRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(IncidentRow).where(IncidentRow.status == "open")))


def test_the_same_hazard_raised_at_the_same_moment_opens_exactly_one_incident(ctx: AppContext) -> None:
    for round_ in range(3):
        results = at_once(ctx, [lambda c, n=n: raise_alert(c, "flood", 2, REASON, f"officer {n}") for n in range(4)])
        won = [r for r in results if isinstance(r, Outcome)]
        lost = [r for r in results if not isinstance(r, Outcome)]
        assert len(won) == 1, f"round {round_}: {results}"
        assert all(isinstance(r, Conflict) for r in lost), lost
        winner = won[0]
        assert all(f"#{winner.incident_id} (code {winner.code}" in str(r) for r in lost)
        [incident] = open_incidents(ctx)
        assert incident.id == winner.incident_id
        assert len(outbox(ctx, winner.incident_id)) == 63, "the losers wrote no outbox rows"
        end_alert(ctx, winner.incident_id, "next round", "tester")
    with ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(IncidentRow)) == 3


def test_different_hazards_and_a_drill_raised_at_the_same_moment_all_open(ctx: AppContext) -> None:
    for _ in range(3):
        results = at_once(ctx, [
            lambda c: raise_alert(c, "flood", 2, REASON, "officer 1"),
            lambda c: raise_alert(c, "drought", 3, "连续20天无有效降雨", "officer 2"),
            lambda c: raise_alert(c, "flood", 4, "演练", "trainer", is_drill=True),
        ])
        assert all(isinstance(r, Outcome) for r in results), results
        opened = open_incidents(ctx)
        assert len(opened) == 3 and len({i.code for i in opened}) == 3, "each open incident has its own reply code"
        for incident in opened:
            end_alert(ctx, incident.id, "next round", "tester")


def test_the_database_itself_refuses_a_second_open_incident_for_one_hazard(ctx: AppContext) -> None:
    first = raise_alert(ctx, "flood", 2, REASON, "tester")
    before = row_counts(ctx)
    with pytest.raises(IntegrityError), transaction(ctx.sessions) as session:
        session.add(IncidentRow(code="ZZ", hazard="flood", area="sanjian", level=1, status="open", is_drill=False,
                                reason="bypassing the check", raised_by="test", raised_at=ctx.clock.now(),
                                level_changed_at=ctx.clock.now(), open_key="sanjian:flood:live", open_code="Z9",
                                plan_snapshot={}, roster_snapshot=[]))
    assert row_counts(ctx) == before
    end_alert(ctx, first.incident_id, "over", "tester")
    # Ended incidents hold no key: any number of them may share a hazard.
    second = raise_alert(ctx, "flood", 2, REASON, "tester")
    end_alert(ctx, second.incident_id, "over", "tester")
    assert open_incidents(ctx) == []
