"""The outbox dispatcher through the FakeGateway on a FakeClock: sending, retries with backoff and jitter, permanent
failures reported once, every attempt recorded, and reconciliation of rows a crashed worker left 'sending'."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from alerts_support import DUTY_OFFICER, REASON, outbox, raw_roster, same_engine, sibling
from sqlalchemy import event, select

from responder.app.alerts import raise_alert
from responder.app.confirm import handle_inbound, record_delivery
from responder.app.incident_basis import sender_key
from responder.domain.callout import Contact
from responder.domain.clock import FakeClock
from responder.domain.incidents import OutgoingMessage
from responder.gateways.base import Accepted, GatewayError, OutgoingSms, PermanentError, RetryableError
from responder.gateways.fake import FakeGateway
from responder.storage import incidents as store
from responder.storage.db import transaction
from responder.storage.models import AuditEventRow, DeliveryReceiptRow, OutboxRow, SendAttemptRow
from responder.wiring import AppContext
from responder.worker.dispatcher import Claimed, Dispatcher


def fake_clock(ctx: AppContext) -> FakeClock:
    assert isinstance(ctx.clock, FakeClock)
    return ctx.clock


def attempts(ctx: AppContext, outbox_id: int | None = None) -> list[SendAttemptRow]:
    with ctx.sessions() as session:
        query = select(SendAttemptRow).order_by(SendAttemptRow.id)
        if outbox_id is not None:
            query = query.where(SendAttemptRow.outbox_id == outbox_id)
        return list(session.scalars(query))


def row_of(ctx: AppContext, person_id: str, kind: str = "callout") -> OutboxRow:
    [row] = [r for r in outbox(ctx, kind=kind) if r.person_id == person_id]
    return row


def phone(ctx: AppContext, person_id: str) -> str:
    return row_of(ctx, person_id).to_number


def test_sends_every_pending_row_once_and_records_each_attempt(ctx: AppContext) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, "tester")
    gateway = FakeGateway(clock=ctx.clock)
    stats = Dispatcher(ctx, gateway).drain()
    assert (stats.sent, stats.retried, stats.failed) == (63, 0, 0)
    assert stats.first_handed_at is not None

    rows = outbox(ctx, raised.incident_id)
    sent = {s.sid: s for s in gateway.sms}
    assert len(sent) == 63 and len({s.to for s in sent.values()}) == 63
    for row in rows:
        assert (row.status, row.attempts, row.sent_at) == ("sent", 1, ctx.clock.now())
        assert row.sid is not None
        record = sent[row.sid]
        assert (record.to, record.body, record.reference) == (row.to_number, row.body, str(row.id))
    assert Counter((a.outcome, a.outbox_id) for a in attempts(ctx)) == Counter(("sent", r.id) for r in rows)

    again = Dispatcher(ctx, gateway).drain()
    assert again.processed == 0 and len(gateway.sms) == 63


GATEWAY_SHAPES = [(0, False), (50, False), (50, True), (0, True)]
"""(batch_limit, in_process): one SMS per request, a batch request, and each in one transaction per batch."""


@pytest.mark.parametrize(("batch_limit", "in_process"), GATEWAY_SHAPES)
def test_on_sent_hears_of_each_row_marked_sent_once_it_is_committed(sqlite_ctx: AppContext, batch_limit: int,
                                                                    in_process: bool) -> None:
    raised = raise_alert(sqlite_ctx, "flood", 2, REASON, "tester")
    gateway = FakeGateway(clock=sqlite_ctx.clock, batch_limit=batch_limit, in_process=in_process)
    gateway.fail_numbers({phone(sqlite_ctx, "R002"): PermanentError("invalid number", code="21211")})
    dispatcher = Dispatcher(sqlite_ctx, gateway, concurrency=1)
    told: list[tuple[int, str | None, str, str]] = []

    def on_sent(items: list[Claimed], at: datetime) -> None:
        assert at == sqlite_ctx.clock.now()
        statuses = {r.id: r.status for r in outbox(sqlite_ctx)}  # another connection: committed
        assert {statuses[item.id] for item in items} == {"sent"}
        told.extend((item.id, item.person_id, item.kind, item.to) for item in items)

    dispatcher.on_sent = on_sent
    dispatcher.drain()
    rows = outbox(sqlite_ctx, raised.incident_id)
    assert sorted(told) == sorted((r.id, r.person_id, r.kind, r.to_number) for r in rows if r.status == "sent")
    assert len(told) == len(rows) - 1 and [r.person_id for r in rows if r.status == "failed"] == ["R002"]


@pytest.mark.parametrize(("batch_limit", "in_process"), GATEWAY_SHAPES)
def test_a_reminder_for_someone_who_confirmed_meanwhile_is_cancelled_when_claimed(sqlite_ctx: AppContext,
                                                                                 batch_limit: int,
                                                                                 in_process: bool) -> None:
    """Also when a gateway with a batch request is handed a claimed batch at once (``batch_limit`` > 0)."""
    clock = fake_clock(sqlite_ctx)
    raised = raise_alert(sqlite_ctx, "flood", 2, REASON, "tester")
    gateway = FakeGateway(clock=clock)
    Dispatcher(sqlite_ctx, gateway, concurrency=1).drain()
    clock.advance(timedelta(minutes=3))
    callout = row_of(sqlite_ctx, "R002")
    assert handle_inbound(sqlite_ctx, callout.to_number, "+8617400000001", "1", "SM" + "a" * 32).outcome == "confirmed"
    # An escalation step racing the confirmation queued a reminder all the same.
    with transaction(sqlite_ctx.sessions) as session:
        contact = Contact("R002", "R002", callout.to_number, "zh")
        store.enqueue(session, raised.incident_id, [OutgoingMessage(contact, "resend", callout.body)], clock.now(),
                      timedelta(minutes=15), sender_key(sqlite_ctx))
    before = len(gateway.sms)

    gateway.batch_limit, gateway.in_process = batch_limit, in_process
    stats = Dispatcher(sqlite_ctx, gateway, concurrency=1).drain()
    resend = row_of(sqlite_ctx, "R002", kind="resend")
    assert (resend.status, resend.error_message) == ("cancelled", "the person confirmed before it went out")
    assert [a.outcome for a in attempts(sqlite_ctx, resend.id)] == ["cancelled"]
    assert (stats.outcomes, stats.sent) == ({"cancelled": 1, "sent": 1}, 1)
    [reply] = gateway.sms[before:]
    assert reply.body == row_of(sqlite_ctx, "R002", kind="confirmed").body


def test_a_delivery_receipt_that_beats_the_sender_is_applied_when_the_sid_is_recorded(ctx: AppContext) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, "tester")

    class CallbackFirst(FakeGateway):
        """The provider's status callback arrives before the sender has recorded the sid."""

        def send_sms(self, message: OutgoingSms) -> Accepted:
            accepted = super().send_sms(message)
            assert record_delivery(ctx, accepted.sid, "delivered", None) == "unknown"
            return accepted

    stats = Dispatcher(ctx, CallbackFirst(clock=ctx.clock)).drain()
    assert stats.sent == 63
    rows = outbox(ctx, raised.incident_id)
    assert {(r.status, r.final_at) for r in rows} == {("delivered", ctx.clock.now())}
    with ctx.sessions() as session:
        receipts = list(session.scalars(select(DeliveryReceiptRow)))
    assert len(receipts) == 63 and all(r.applied for r in receipts)
    assert {r.sid for r in receipts} == {r.sid for r in rows}


def test_two_dispatchers_at_once_never_send_a_row_twice(ctx: AppContext) -> None:
    raise_alert(ctx, "flood", 1, REASON, "tester")
    total = len(outbox(ctx))
    # A provider takes a moment per message, as Twilio does. With instant sends one worker can empty the queue
    # while the other sleeps in SQLite's busy back-off: the likely cause of this test's rare failures under load.
    gateway = FakeGateway(clock=ctx.clock, hook=lambda _: time.sleep(0.002))
    contexts = [sibling(ctx, claim_batch=5), sibling(ctx, claim_batch=5)]
    workers = [Dispatcher(c, gateway, worker_id=f"w{i}", concurrency=2) for i, c in enumerate(contexts)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(worker: Dispatcher) -> None:
        try:
            start.wait()
            worker.drain()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for c in contexts:
        c.engine.dispose()
    assert errors == []
    references = Counter(s.reference for s in gateway.sms)
    assert len(references) == total and set(references.values()) == {1}
    assert all(w.stats.sent > 0 for w in workers), "both took a share"
    assert sum(w.stats.sent for w in workers) == total
    assert {r.status for r in outbox(ctx)} == {"sent"}


def test_retryable_errors_back_off_exponentially_with_jitter_until_the_deadline(sqlite_ctx: AppContext) -> None:
    ctx = same_engine(sqlite_ctx, retry_base_seconds=2.0, retry_max_seconds=60.0, send_deadline_seconds=300)
    clock = fake_clock(ctx)
    raise_alert(ctx, "flood", 2, REASON, "tester")
    gateway = FakeGateway(clock=clock)
    trouble = ["R005", "R006", "M003"]
    gateway.fail_numbers({phone(ctx, p): RetryableError("Too Many Requests", code="20429") for p in trouble})
    dispatcher = Dispatcher(ctx, gateway, rng=random.Random(4))

    stats = dispatcher.drain()
    assert (stats.sent, stats.retried, stats.failed) == (60, 3, 0)
    history: dict[str, list[float]] = {p: [] for p in trouble}
    deadline = {p: row_of(ctx, p).deadline_at for p in trouble}
    for _ in range(60):
        rows = {p: row_of(ctx, p) for p in trouble}
        if all(r.status == "failed" for r in rows.values()):
            break
        for p, r in rows.items():
            if r.status == "pending" and r.attempts > len(history[p]):  # retried in the last pass
                assert r.due_at > clock.now() and r.attempts == len(history[p]) + 1
                history[p].append((r.due_at - clock.now()).total_seconds())
        clock.set(min(r.due_at for r in rows.values() if r.status == "pending"))
        Dispatcher(ctx, gateway, rng=dispatcher.rng).drain()
    else:
        pytest.fail("the retries never reached the deadline")

    for p in trouble:
        delays = history[p]
        assert len(delays) >= 4
        for n, delay in enumerate(delays, start=1):
            nominal = min(60.0, 2.0 * 2 ** (n - 1))
            assert 0.5 * nominal <= delay <= 1.5 * nominal, f"retry {n} of {p}: {delay:.1f}s for nominal {nominal}"
        row = row_of(ctx, p)
        assert row.status == "failed" and row.error_code == "20429"
        assert row.error_message is not None and row.error_message.startswith("deadline passed: Too Many Requests")
        assert row.final_at is not None and row.final_at < deadline[p]
        outcomes = [a.outcome for a in attempts(ctx, row.id)]
        assert outcomes == ["retry"] * len(delays) + ["failed"]
        assert row.attempts == len(outcomes)
    assert len({history[p][0] for p in trouble}) == 3, "jitter: the three first retries are not in lock step"
    reported = len(outbox(ctx, kind="failure_summary"))
    assert reported > 0, "failing at the deadline is a permanent failure: reported"
    assert len(gateway.attempts) == 60 + sum(len(history[p]) + 1 for p in trouble) + reported


def test_a_transient_failure_is_retried_and_then_sent(sqlite_ctx: AppContext) -> None:
    clock = fake_clock(sqlite_ctx)
    raise_alert(sqlite_ctx, "flood", 4, REASON, "tester")
    gateway = FakeGateway(clock=clock)
    gateway.fail_next(2, RetryableError("HTTP 503", code="20503"))
    stats = Dispatcher(sqlite_ctx, gateway, concurrency=1).drain()
    assert (stats.retried, stats.failed) == (2, 0)
    waiting = [r for r in outbox(sqlite_ctx) if r.status == "pending"]
    assert len(waiting) == 2 and all(r.due_at > clock.now() for r in waiting)
    assert Dispatcher(sqlite_ctx, gateway).drain().processed == 0, "not due yet"

    clock.advance(timedelta(seconds=10))
    Dispatcher(sqlite_ctx, gateway).drain()
    assert {r.status for r in outbox(sqlite_ctx)} == {"sent"}
    for r in waiting:
        assert [a.outcome for a in attempts(sqlite_ctx, r.id)] == ["retry", "sent"]
        assert row_of(sqlite_ctx, str(r.person_id)).attempts == 2
    assert len(gateway.sms) == len(outbox(sqlite_ctx))


def summaries(ctx: AppContext) -> dict[str, OutboxRow]:
    rows = outbox(ctx, kind="failure_summary")
    assert len({r.person_id for r in rows}) == len(rows), "one summary per person told"
    return {str(r.person_id): r for r in rows}


def delivery_failed_events(ctx: AppContext) -> list[AuditEventRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(AuditEventRow).where(AuditEventRow.kind == "delivery_failed")))


def test_permanent_failures_fail_at_once_and_are_reported_once_to_group_heads_and_duty_officer(
        ctx: AppContext) -> None:
    clock = fake_clock(ctx)
    raised = raise_alert(ctx, "flood", 2, REASON, "tester")
    gateway = FakeGateway(clock=clock)
    bad = ["R005", "R006", "C002"]  # two rescue members and the rescue leader (who is also a command deputy)
    gateway.fail_numbers({phone(ctx, p): PermanentError("The 'To' number is not a valid phone number.",
                                                        code="21211") for p in bad})
    stats = Dispatcher(ctx, gateway).drain()
    assert (stats.sent - 3, stats.failed, stats.retried) == (60, 3, 0), "60 call-outs and 3 summaries sent"
    for p in bad:
        row = row_of(ctx, p)
        assert (row.status, row.attempts, row.error_code, row.failure_reported) == ("failed", 1, "21211", True)
        assert [a.outcome for a in attempts(ctx, row.id)] == ["failed"]

    names = {p: raw_roster()[p].name for p in bad}
    told = summaries(ctx)
    # The rescue leader failed, so the rescue deputy hears of the rescue group; the command leader of C002;
    # the duty officer of everyone.
    assert set(told) == {"R001", "C001", DUTY_OFFICER}
    assert all(n in told["R001"].body for n in names.values()) and "以下3人短信无法送达" in told["R001"].body
    assert names["C002"] in told["C001"].body and "以下1人" in told["C001"].body
    assert all(n in told[DUTY_OFFICER].body for n in names.values())
    assert all(f"{raised.code}" in r.body and r.status == "sent" for r in told.values())
    [event] = delivery_failed_events(ctx)
    assert event.incident_id == raised.incident_id and event.actor == "dispatcher"
    assert event.evidence["people"] == sorted(bad) and event.evidence["told"] == sorted(told)
    assert all("21211" in e for e in event.evidence["errors"].values())

    # Later passes, later in time: nothing is reported again.
    for _ in range(2):
        clock.advance(timedelta(minutes=5))
        Dispatcher(ctx, gateway).drain()
    assert len(outbox(ctx, kind="failure_summary")) == 3 and len(delivery_failed_events(ctx)) == 1


def test_a_summary_waits_for_the_call_out_to_settle_and_each_failure_is_reported_once(sqlite_ctx: AppContext) -> None:
    ctx = same_engine(sqlite_ctx, send_deadline_seconds=120)
    clock = fake_clock(ctx)
    raise_alert(ctx, "flood", 2, REASON, "tester")
    gateway = FakeGateway(clock=clock)
    gateway.fail_numbers({phone(ctx, "R005"): PermanentError("invalid", code="21211"),
                          phone(ctx, "R006"): RetryableError("HTTP 500", code="20500")})
    Dispatcher(ctx, gateway).drain()
    assert row_of(ctx, "R005").status == "failed" and row_of(ctx, "R006").status == "pending"
    assert summaries(ctx) == {}, "R006 is still being retried: wait up to a minute for the rest"

    clock.advance(timedelta(seconds=61))
    Dispatcher(ctx, gateway).drain()
    first = summaries(ctx)
    assert set(first) == {"C002", DUTY_OFFICER}
    assert all(raw_roster()["R005"].name in r.body and raw_roster()["R006"].name not in r.body
               for r in first.values())

    for _ in range(10):
        clock.advance(timedelta(seconds=61))
        Dispatcher(ctx, gateway).drain()
    assert row_of(ctx, "R006").status == "failed"
    rows = outbox(ctx, kind="failure_summary")
    assert len(rows) == 4 and len(delivery_failed_events(ctx)) == 2
    assert all(raw_roster()["R006"].name in r.body and raw_roster()["R005"].name not in r.body
               for r in rows if r.id not in {x.id for x in first.values()})


def crash_mid_batch(ctx: AppContext, gateway: FakeGateway, claimed: int, handed: int) -> list[OutboxRow]:
    """A worker claims ``claimed`` rows, hands ``handed`` of them to the gateway, and dies before marking any."""
    dead = Dispatcher(ctx, gateway, worker_id="dead-worker")
    batch = dead.claim(limit=claimed)
    for item in batch[:handed]:
        gateway.send_sms(OutgoingSms(item.to, item.body, reference=str(item.id)))
    rows = [r for r in outbox(ctx) if r.status == "sending"]
    assert len(rows) == claimed and {r.claimed_by for r in rows} == {"dead-worker"}
    return rows


def test_rows_left_sending_are_reconciled_after_the_claim_timeout_without_resending(ctx: AppContext) -> None:
    ctx = same_engine(ctx, claim_timeout_seconds=120)
    clock = fake_clock(ctx)
    raise_alert(ctx, "flood", 2, REASON, "tester")
    gateway = FakeGateway(clock=clock)
    stuck = crash_mid_batch(ctx, gateway, claimed=10, handed=4)

    # Within the claim timeout the dead worker's rows are left alone: it might only be slow.
    clock.advance(timedelta(seconds=60))
    stats = Dispatcher(ctx, gateway, worker_id="fresh").drain()
    assert (stats.sent, stats.reconciled) == (53, 0)
    assert len([r for r in outbox(ctx) if r.status == "sending"]) == 10

    clock.advance(timedelta(seconds=61))
    stats = Dispatcher(ctx, gateway, worker_id="fresh").drain()
    assert (stats.reconciled, stats.sent) == (10, 6)
    per_person = Counter(s.to for s in gateway.sms)
    assert len(per_person) == 63 and set(per_person.values()) == {1}, "each person got exactly one SMS"
    by_id = {r.id: r for r in outbox(ctx)}
    early = {s.reference: s.sid for s in gateway.sms[:4]}
    for row in stuck:
        now = by_id[row.id]
        outcomes = [a.outcome for a in attempts(ctx, row.id)]
        assert now.status == "sent"
        if str(row.id) in early:
            assert now.sid == early[str(row.id)] and outcomes == ["reconciled-sent"]
        else:
            assert outcomes == ["reconciled-unsent", "sent"]


def test_a_gateway_that_cannot_list_its_messages_means_a_resend(sqlite_ctx: AppContext) -> None:
    clock = fake_clock(sqlite_ctx)
    raise_alert(sqlite_ctx, "flood", 4, REASON, "tester")
    gateway = FakeGateway(clock=clock)
    gateway.reports_sent = False
    stuck = crash_mid_batch(sqlite_ctx, gateway, claimed=3, handed=1)
    clock.advance(timedelta(seconds=sqlite_ctx.settings.claim_timeout_seconds + 1))
    stats = Dispatcher(sqlite_ctx, gateway).drain()
    assert stats.reconciled == 3
    per_person = Counter(s.to for s in gateway.sms)
    assert per_person[stuck[0].to_number] == 2, "the documented duplicate window: the provider could not tell"
    [attempt, _] = attempts(sqlite_ctx, stuck[0].id)
    assert attempt.detail == "the gateway cannot tell: sending again (may duplicate)"


def test_reconciliation_does_not_mistake_an_earlier_identical_message_for_the_lost_one(sqlite_ctx: AppContext) -> None:
    """A reminder has the same text as the call-out it repeats: the call-out's known sid must not count."""
    clock = fake_clock(sqlite_ctx)
    raised = raise_alert(sqlite_ctx, "flood", 2, REASON, "tester")
    gateway = FakeGateway(clock=clock)
    Dispatcher(sqlite_ctx, gateway).drain()
    original = row_of(sqlite_ctx, "R002")
    clock.advance(timedelta(minutes=10))
    with transaction(sqlite_ctx.sessions) as session:
        contact = Contact("R002", original.to_number, original.to_number, "zh")
        store.enqueue(session, raised.incident_id, [OutgoingMessage(contact, "resend", original.body)], clock.now(),
                      timedelta(minutes=15), sender_key(sqlite_ctx))
    crash_mid_batch(sqlite_ctx, gateway, claimed=1, handed=0)
    clock.advance(timedelta(seconds=sqlite_ctx.settings.claim_timeout_seconds + 1))
    Dispatcher(sqlite_ctx, gateway).drain()
    resend = row_of(sqlite_ctx, "R002", kind="resend")
    assert resend.status == "sent" and resend.sid != original.sid
    assert [s.body for s in gateway.sms if s.to == original.to_number] == [original.body] * 2


def test_a_provider_id_already_in_the_outbox_never_leaves_a_row_sending(ctx: AppContext) -> None:
    """A gateway that hands out an id the outbox already holds (the console gateway restarted its count in every
    process) accepted the message all the same: it is recorded sent, not left 'sending' to be sent again."""
    first = raise_alert(ctx, "flood", 3, REASON, "tester")
    Dispatcher(ctx, FakeGateway(clock=ctx.clock, run="same")).drain()
    with transaction(ctx.sessions) as session:
        [row] = [r for r in outbox(ctx, first.incident_id) if r.person_id == DUTY_OFFICER]
        contact = Contact(DUTY_OFFICER, "duty", row.to_number, "zh")
        store.enqueue(session, first.incident_id, [OutgoingMessage(contact, "status", "第二条")],
                      ctx.clock.now(), timedelta(minutes=15), sender_key(ctx))
    again = FakeGateway(clock=ctx.clock, run="same")  # a second process: its ids start again at SMfakesame000001
    stats = Dispatcher(ctx, again).drain()
    assert stats.sent == 1 and [s.sid for s in again.sms] == ["SMfakesame000001"]
    statuses = Counter(r.status for r in outbox(ctx, first.incident_id))
    assert statuses == {"sent": len(outbox(ctx, first.incident_id))}
    [late] = [r for r in outbox(ctx, first.incident_id) if r.kind == "status"]
    holder = next(r for r in outbox(ctx, first.incident_id) if r.sid == "SMfakesame000001")
    assert late.sid is None and holder.id != late.id
    [attempt] = attempts(ctx, late.id)
    assert attempt.outcome == "sent" and f"already belongs to outbox {holder.id}" in (attempt.detail or "")


@pytest.mark.parametrize("in_process", [False, True])
def test_one_provider_id_given_twice_in_one_batch_is_stored_on_the_first_row_only(ctx: AppContext,
                                                                                   in_process: bool) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, "tester")

    class Repeats(FakeGateway):
        def send_batch(self, messages: Sequence[OutgoingSms]) -> list[Accepted | GatewayError]:
            outcomes = super().send_batch(messages)
            return [outcomes[0], outcomes[0], *outcomes[2:]]  # the provider answered the first id twice

    stats = Dispatcher(ctx, Repeats(clock=ctx.clock, batch_limit=50, in_process=in_process)).drain()
    assert stats.sent == 63
    rows = sorted(outbox(ctx, raised.incident_id), key=lambda r: r.id)
    assert {r.status for r in rows} == {"sent"}
    first, second = rows[0], rows[1]
    assert first.sid is not None and second.sid is None
    [attempt] = attempts(ctx, second.id)
    assert f"already belongs to outbox {first.id}" in (attempt.detail or "")


# -- a gateway with a batch request ---------------------------------------------------------------------------------
def test_a_gateway_with_a_batch_request_is_handed_each_claimed_batch_at_once(sqlite_ctx: AppContext) -> None:
    ctx = same_engine(sqlite_ctx, claim_batch=25)
    raised = raise_alert(ctx, "flood", 2, REASON, "tester")
    gateway = FakeGateway(clock=ctx.clock, batch_limit=10)
    gateway.fail_numbers({phone(ctx, "R002"): PermanentError("invalid number", code="21211")})
    stats = Dispatcher(ctx, gateway).drain()
    # claims of 25, 25 and 13 call-outs, each handed over 10 at a time; then the failure summary (2 SMS)
    assert gateway.batches == [10, 10, 5, 10, 10, 5, 10, 3, 2]
    assert (stats.sent, stats.failed) == (62 + 2, 1)
    rows = outbox(ctx, raised.incident_id)
    assert Counter(r.status for r in rows) == Counter({"sent": 62 + 2, "failed": 1})
    assert {s.reference for s in gateway.sms} == {str(r.id) for r in rows if r.status == "sent"}
    assert Counter(a.outcome for a in attempts(ctx)) == Counter({"sent": 64, "failed": 1})


def test_a_batch_request_that_fails_as_a_whole_is_each_message_s_failure(sqlite_ctx: AppContext) -> None:
    raise_alert(sqlite_ctx, "flood", 4, REASON, "tester")

    class Refusing(FakeGateway):
        def send_batch(self, messages: Sequence[OutgoingSms]) -> list[Accepted | GatewayError]:
            raise RetryableError("HTTP 503", code="20503")

    gateway = Refusing(clock=sqlite_ctx.clock, batch_limit=50)
    stats = Dispatcher(sqlite_ctx, gateway).drain()
    rows = outbox(sqlite_ctx)
    assert rows and stats.retried == len(rows) and gateway.sms == []
    assert {(r.status, r.attempts, r.error_code) for r in rows} == {("pending", 1, "20503")}


def test_an_in_process_gateway_s_batch_is_claimed_sent_and_recorded_in_one_transaction(ctx: AppContext) -> None:
    """Nothing to reconcile with a provider: a crash after the hand-over rolls the claim back with the record, so no
    row is left 'sending', and the next worker sends the batch (again, to the simulated provider) right away."""
    raise_alert(ctx, "flood", 2, REASON, "tester")

    class DiesAfterItsSecondBatch(FakeGateway):
        requests = 0

        def send_batch(self, messages: Sequence[OutgoingSms]) -> list[Accepted | GatewayError]:
            outcomes = super().send_batch(messages)
            self.requests += 1
            if self.requests == 2:
                raise SystemExit("killed after the simulated provider took the batch")
            return outcomes

    transactions: list[object] = []
    event.listen(ctx.engine, "begin", transactions.append)
    gateway = DiesAfterItsSecondBatch(clock=ctx.clock, batch_limit=50, in_process=True)
    first = same_engine(ctx, claim_batch=40)
    with pytest.raises(SystemExit):
        Dispatcher(first, gateway, worker_id="dead-worker").drain()
    assert len(transactions) == 1 + 2, "the look for abandoned rows, then one transaction per batch"
    assert Counter(r.status for r in outbox(ctx)) == Counter({"sent": 40, "pending": 23})
    assert Counter(a.outcome for a in attempts(ctx)) == Counter({"sent": 40})

    stats = Dispatcher(first, gateway, worker_id="next").drain()
    assert (stats.sent, stats.reconciled) == (23, 0)
    assert Counter(r.status for r in outbox(ctx)) == Counter({"sent": 63})
    assert len(gateway.sms) == 63 + 23, "the rolled-back batch went to the simulated provider twice"


def test_a_worker_that_dies_after_a_batch_request_is_reconciled_without_resending(ctx: AppContext) -> None:
    """Claim, send, record: a crash between the batch request and its record leaves the rows 'sending', and
    reconciliation finds each in the gateway's listing."""
    ctx = same_engine(ctx, claim_timeout_seconds=120)
    clock = fake_clock(ctx)
    raise_alert(ctx, "flood", 2, REASON, "tester")

    class DiesAfterItsFirstBatch(FakeGateway):
        died = False

        def send_batch(self, messages: Sequence[OutgoingSms]) -> list[Accepted | GatewayError]:
            outcomes = super().send_batch(messages)
            if not self.died:
                self.died = True
                raise SystemExit("killed after the provider took the batch")
            return outcomes

    gateway = DiesAfterItsFirstBatch(clock=clock, batch_limit=50)
    with pytest.raises(SystemExit):
        Dispatcher(ctx, gateway, worker_id="dead-worker").drain()
    stuck = [r for r in outbox(ctx) if r.status == "sending"]
    assert len(stuck) == ctx.settings.claim_batch == len(gateway.sms)
    taken = {s.reference: s.sid for s in gateway.sms}

    clock.advance(timedelta(seconds=121))
    stats = Dispatcher(ctx, gateway, worker_id="fresh").drain()
    assert stats.reconciled == len(stuck) and stats.sent == 63 - len(stuck)
    by_id = {r.id: r for r in outbox(ctx)}
    for row in stuck:
        assert (by_id[row.id].status, by_id[row.id].sid) == ("sent", taken[str(row.id)])
        assert [a.outcome for a in attempts(ctx, row.id)] == ["reconciled-sent"]
    per_person = Counter(s.to for s in gateway.sms)
    assert len(per_person) == 63 and set(per_person.values()) == {1}, "each person got exactly one SMS"
