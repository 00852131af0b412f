"""A step runs at most once, however often and from however many places it is woken (the scheduler's job, the
sweep, `alert escalate`, two workers at once); a step that no longer applies is cancelled, not run; repeated or late
replies never confirm twice. On SQLite and PostgreSQL (``ctx``)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

import pytest
from alerts_support import execute_raw, sibling
from escalation_support import (
    OFFICER,
    OUR_NUMBER,
    REASON,
    T0,
    acknowledgements,
    audit,
    inbound_rows,
    outbox_rows,
    recipient,
    steps_of,
)
from web_hooks_support import dispatch

from responder.app.alerts import change_level, end_alert, raise_alert
from responder.app.confirm import handle_inbound, handle_keypress
from responder.app.escalation import StepOutcome, escalate_now, run_due, run_step
from responder.domain.clock import FakeClock
from responder.gateways.fake import FakeGateway
from responder.wiring import AppContext
from responder.worker import jobs

PERSON = "O003"
T = TypeVar("T")


def sent_per_phone(gateway: FakeGateway, kind: str = "sms") -> Counter[str]:
    return Counter(r.to for r in gateway.records if r.kind == kind)


def at_once(n: int, work: Callable[[int], T]) -> list[T]:
    """``work(i)`` in ``n`` threads released together."""
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait(timeout=10)
        return work(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


@pytest.fixture
def siblings(ctx: AppContext) -> Iterator[list[AppContext]]:
    """Four more views of the same database, each with an engine of its own (as separate workers have)."""
    others = [sibling(ctx) for _ in range(4)]
    yield others
    for other in others:
        other.engine.dispose()


# -- the same step twice --------------------------------------------------------------------------------------------
def test_run_step_twice_runs_once(ctx: AppContext, clock: FakeClock) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    resend = steps_of(ctx, raised.incident_id)[0]
    clock.set(T0 + timedelta(minutes=9))
    assert run_step(ctx, resend.id) is None, "not due yet"
    assert steps_of(ctx, raised.incident_id)[0].status == "pending"

    clock.set(T0 + timedelta(minutes=10))
    first = run_step(ctx, resend.id)
    assert first is not None and (first.action, first.status, first.messages) == ("resend_sms", "done", 63)
    assert run_step(ctx, resend.id) is None
    assert run_step(ctx, resend.id, actor="李乙", force=True) is None
    assert len(outbox_rows(ctx, raised.incident_id, kind="resend")) == 63
    assert len(audit(ctx, raised.incident_id, "escalation")) == 1


def test_run_due_twice_runs_each_step_once_and_sends_once(ctx: AppContext, clock: FakeClock,
                                                          gateway: FakeGateway) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    dispatch(ctx, gateway)
    clock.set(T0 + timedelta(minutes=30))
    first = run_due(ctx)
    assert [o.action for o in first] == ["resend_sms", "voice_call", "notify_group_deputy", "notify_group_leader",
                                         "notify_chain"]
    rows = len(outbox_rows(ctx))
    assert run_due(ctx) == []
    assert escalate_now(ctx, raised.incident_id, "李乙") is not None  # the next one (40 min), by hand
    assert run_due(ctx) == []
    dispatch(ctx, gateway)
    dispatch(ctx, gateway)
    assert len(outbox_rows(ctx)) == rows + 1
    called = {r.person_id: r.to_number for r in outbox_rows(ctx, raised.incident_id, kind="callout")}
    sms, calls = sent_per_phone(gateway), sent_per_phone(gateway, "call")
    assert all(sms[phone] >= 2 and calls[phone] == 1 for phone in called.values())
    assert {phone: n for phone, n in sms.items() if phone in called.values()} == {
        phone: 2 + len([m for m in outbox_rows(ctx, raised.incident_id, person=pid)
                        if m.kind in ("escalate_group", "escalate_chain")]) for pid, phone in called.items()}


def test_scheduler_jobs_and_the_sweep_run_a_step_once(ctx: AppContext, clock: FakeClock,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs.Runtime, "ctx", ctx)
    swept: list[int] = []
    monkeypatch.setattr(jobs.Runtime, "after_sweep", lambda: swept.append(1))
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    resend, voice = steps_of(ctx, raised.incident_id)[:2]
    clock.set(T0 + timedelta(minutes=15))
    jobs.escalation_step(resend.id)  # its timed job
    jobs.escalation_step(resend.id)  # the same job again (a restart, a misfire)
    jobs.sweep()  # the safety net: runs what is overdue, the voice call
    jobs.sweep()
    assert len(swept) == 2
    assert [(s.action, s.status) for s in steps_of(ctx, raised.incident_id)[:3]] == [
        ("resend_sms", "done"), ("voice_call", "done"), ("notify_group_deputy", "pending")]
    assert len(outbox_rows(ctx, raised.incident_id, kind="resend")) == 63
    assert len(outbox_rows(ctx, raised.incident_id, kind="voice")) == 63
    assert voice.id in {e.evidence["step_id"] for e in audit(ctx, raised.incident_id, "escalation")}


def test_two_workers_at_once_run_each_step_once(ctx: AppContext, clock: FakeClock, siblings: list[AppContext],
                                                gateway: FakeGateway) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    dispatch(ctx, gateway)
    clock.set(T0 + timedelta(minutes=10))
    resend = steps_of(ctx, raised.incident_id)[0]

    outcomes = at_once(len(siblings), lambda i: run_step(siblings[i], resend.id))
    assert len([o for o in outcomes if o is not None]) == 1, outcomes

    clock.set(T0 + timedelta(hours=3))  # everything else, two sweeps racing each other
    swept: list[list[StepOutcome]] = at_once(2, lambda i: run_due(siblings[i]))
    ran = Counter(o.step_id for batch in swept for o in batch)
    assert set(ran.values()) == {1}
    assert set(ran) | {resend.id} == {s.id for s in steps_of(ctx, raised.incident_id)}
    assert {s.status for s in steps_of(ctx, raised.incident_id)} <= {"done", "skipped"}

    dispatch(ctx, gateway)
    resends = outbox_rows(ctx, raised.incident_id, kind="resend")
    assert len(resends) == 2 * 63, "round 1 and the repeat"
    assert len({m.dedupe_key for m in outbox_rows(ctx) if m.dedupe_key}) == len(
        [m for m in outbox_rows(ctx) if m.dedupe_key])
    calls = sent_per_phone(gateway, "call")
    assert len(calls) == 63 and set(calls.values()) == {2}, "one call per round"


# -- steps that no longer apply -------------------------------------------------------------------------------------
def test_a_step_of_an_incident_that_changed_level_behind_its_back_is_cancelled_as_stale(
        ctx: AppContext, clock: FakeClock) -> None:
    """As a job woken in the middle of a level change would find it (the change commits, then the job reads)."""
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    resend = steps_of(ctx, raised.incident_id)[0]
    clock.set(T0 + timedelta(minutes=10))
    execute_raw(ctx, f"UPDATE incidents SET level = 1 WHERE id = {raised.incident_id}")
    outcome = run_step(ctx, resend.id)
    assert outcome is not None and (outcome.status, outcome.messages, outcome.detail) == ("cancelled", 0, "stale")
    row = steps_of(ctx, raised.incident_id)[0]
    assert (row.status, row.done_by) == ("cancelled", "scheduler: stale") and "changed level" in row.result["why"]
    assert outbox_rows(ctx, raised.incident_id, kind="resend") == []


def test_a_step_of_an_ended_incident_is_cancelled_as_stale(ctx: AppContext, clock: FakeClock) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    clock.set(T0 + timedelta(minutes=20))
    execute_raw(ctx, f"UPDATE incidents SET status = 'ended', open_key = NULL, open_code = NULL "
                     f"WHERE id = {raised.incident_id}")
    outcomes = run_due(ctx)
    assert [(o.action, o.status, o.messages) for o in outcomes] == [
        ("resend_sms", "cancelled", 0), ("voice_call", "cancelled", 0), ("notify_group_deputy", "cancelled", 0)]
    assert [m for m in outbox_rows(ctx, raised.incident_id) if m.kind != "callout"] == []


def test_steps_of_the_old_level_never_run_after_a_level_change(ctx: AppContext, clock: FakeClock) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    old = steps_of(ctx, raised.incident_id)
    clock.set(T0 + timedelta(minutes=5))
    change_level(ctx, raised.incident_id, 1, "上游水库溃坝", OFFICER)
    clock.set(T0 + timedelta(hours=5))
    for step in old:
        assert run_step(ctx, step.id) is None
        assert run_step(ctx, step.id, force=True) is None
    assert {o.step_id for o in run_due(ctx)}.isdisjoint({s.id for s in old})
    assert {m.created_at for m in outbox_rows(ctx, raised.incident_id, kind="resend")} == {
        T0 + timedelta(hours=5)}, "only level 1's"


def test_a_stand_down_after_a_step_was_queued_cancels_its_messages(ctx: AppContext, clock: FakeClock,
                                                                   gateway: FakeGateway) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    dispatch(ctx, gateway)
    clock.set(T0 + timedelta(minutes=10))
    run_due(ctx)
    gateway.reset()
    end_alert(ctx, raised.incident_id, "水位回落", OFFICER)
    assert {m.status for m in outbox_rows(ctx, raised.incident_id, kind="resend")} == {"cancelled"}
    clock.set(T0 + timedelta(hours=5))
    assert run_due(ctx) == []
    dispatch(ctx, gateway)
    standdown = {m.body for m in outbox_rows(ctx, raised.incident_id, kind="standdown")}
    assert gateway.records and {r.body for r in gateway.records} == standdown
    assert len(gateway.records) == 63


# -- replies --------------------------------------------------------------------------------------------------------
def test_a_repeated_inbound_message_confirms_once(ctx: AppContext, clock: FakeClock) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    phone = recipient(ctx, raised.incident_id, PERSON).phone
    clock.set(T0 + timedelta(minutes=3))
    first = handle_inbound(ctx, phone, OUR_NUMBER, "1", "SM" + "a" * 32)
    again = handle_inbound(ctx, phone, OUR_NUMBER, "1", "SM" + "a" * 32)
    assert (first.outcome, again.outcome) == ("confirmed", "repeat")
    assert len(acknowledgements(ctx)) == 1 and len(audit(ctx, raised.incident_id, "confirmed")) == 1
    assert len(outbox_rows(ctx, raised.incident_id, person=PERSON, kind="confirmed")) == 1
    assert len(inbound_rows(ctx)) == 1

    both = at_once(2, lambda i: handle_inbound(ctx, phone, OUR_NUMBER, "收到", "SM" + "b" * 32))
    assert sorted(r.outcome for r in both) == ["duplicate", "repeat"]
    assert len(acknowledgements(ctx)) == 1 and len(inbound_rows(ctx)) == 2


def test_a_reply_after_the_stand_down_is_stored_not_a_confirmation(ctx: AppContext, clock: FakeClock,
                                                                   gateway: FakeGateway) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    phone = recipient(ctx, raised.incident_id, PERSON).phone
    clock.set(T0 + timedelta(minutes=15))
    run_due(ctx)
    dispatch(ctx, gateway)
    [call] = outbox_rows(ctx, raised.incident_id, person=PERSON, kind="voice")
    end_alert(ctx, raised.incident_id, "水位回落", OFFICER)
    before = len(outbox_rows(ctx))

    result = handle_inbound(ctx, phone, OUR_NUMBER, "1", "SM" + "c" * 32)
    assert (result.outcome, result.person_id, result.incident_id) == ("no_open_incident", PERSON, None)
    assert handle_keypress(ctx, call.id, "1") is None
    [stored] = inbound_rows(ctx)
    assert (stored.body, stored.outcome, stored.person_id) == ("1", "no_open_incident", PERSON)
    assert recipient(ctx, raised.incident_id, PERSON).confirmed_at is None
    assert acknowledgements(ctx) == [] and len(outbox_rows(ctx)) == before
