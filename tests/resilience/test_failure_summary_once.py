"""Two workers summarising the same permanent failures at the same moment: each summary goes out once.

Both used to read the unreported failures without a lock and queue the same summary to the group heads and the duty
officer; now the failures are claimed with a conditional UPDATE ... RETURNING, so the second worker finds none.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from responder.app.alerts import end_alert, raise_alert
from responder.app.failures import report_failures
from responder.gateways.base import PermanentError
from responder.gateways.fake import FakeGateway
from responder.storage.models import AuditEventRow, OutboxRow
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher

FAILING = ("R005", "R006", "C002")


def _phones(ctx: AppContext, people: tuple[str, ...], incident_id: int) -> list[str]:
    with ctx.sessions() as session:
        return list(session.scalars(select(OutboxRow.to_number).where(
            OutboxRow.incident_id == incident_id, OutboxRow.person_id.in_(people), OutboxRow.kind == "callout")))


def _send_without_reporting(ctx: AppContext, gateway: FakeGateway) -> None:
    dispatcher = Dispatcher(ctx, gateway, concurrency=1)
    try:
        while dispatcher.run_once():  # run_once sends; only drain goes on to summarise the failures
            pass
    finally:
        dispatcher.close()


def _summaries(ctx: AppContext, incident_id: int) -> Counter[str]:
    with ctx.sessions() as session:
        return Counter(str(p) for p in session.scalars(select(OutboxRow.person_id).where(
            OutboxRow.incident_id == incident_id, OutboxRow.kind == "failure_summary")))


def _report_from_two_workers_at_once(ctx: AppContext) -> list[int]:
    """``report_failures`` in two threads released together: two workers finishing their passes at one moment."""
    start = threading.Barrier(2)
    queued: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait(5)
            queued.append(report_failures(ctx))
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return queued


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_two_workers_reporting_at_once_send_one_summary_per_recipient(ctx: AppContext) -> None:
    """On PostgreSQL: SQLite's write lock orders the two workers' transactions anyway."""
    gateway = FakeGateway(clock=ctx.clock)
    for round_ in range(3):
        raised = raise_alert(ctx, "flood", 2, f"round {round_}", "tester")
        gateway.fail_numbers({number: PermanentError("The 'To' number is not a valid phone number.", code="21211")
                              for number in _phones(ctx, FAILING, raised.incident_id)})
        _send_without_reporting(ctx, gateway)
        queued = _report_from_two_workers_at_once(ctx)
        told = _summaries(ctx, raised.incident_id)
        assert told and set(told.values()) == {1}, f"round {round_}: one summary per recipient, got {dict(told)}"
        assert sorted(queued) == [0, len(told)], "one worker queued them all, the other none"
        with ctx.sessions() as session:
            events = session.scalars(select(AuditEventRow).where(AuditEventRow.kind == "delivery_failed",
                                                                 AuditEventRow.incident_id == raised.incident_id))
            assert len(list(events)) == 1
        end_alert(ctx, raised.incident_id, "over", "tester")
        gateway.clear_failures()
