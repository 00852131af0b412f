"""The outbox through the plan's routes: Alibaba Cloud's errors are retried or reported as Twilio's are, and a crash
between the provider's answer and our record is settled with QuerySendDetails, not by sending again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cn_support import cn_context, stubs
from sqlalchemy import select

from responder.app.alerts import raise_alert
from responder.domain.clock import FakeClock
from responder.gateways.factory import make_gateway
from responder.storage.models import OutboxRow, SendAttemptRow
from responder.testing import TwilioStubServer
from responder.testing.alibaba_server import AlibabaStubServer, Answer
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher
from responder.worker.handover import hand_over


@pytest.fixture
def world(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[AppContext, AlibabaStubServer, TwilioStubServer]]:
    with stubs() as (alibaba, twilio):
        alibaba.clock = clock.now
        ctx = cn_context(f"sqlite:///{tmp_path / 'r.db'}", clock, tmp_path, alibaba, twilio)
        yield ctx, alibaba, twilio
        ctx.engine.dispose()


def sms_rows(ctx: AppContext) -> list[OutboxRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(OutboxRow).where(OutboxRow.channel == "sms",
                                                            OutboxRow.to_number.like("+86%")).order_by(OutboxRow.id)))


def test_throttled_then_retried_invalid_number_failed_and_reported(
        world: tuple[AppContext, AlibabaStubServer, TwilioStubServer], clock: FakeClock) -> None:
    ctx, alibaba, _ = world
    alibaba.fail_number("17400031676")  # O004, an office member
    alibaba.script(Answer("Throttling.User", "Request was denied due to user flow control.", 400))
    incident = raise_alert(ctx, "flood", 2, "长河水位超警戒", by="duty officer").incident_id
    gateway = make_gateway(ctx.settings, ctx.clock, ctx.plan.messaging)
    Dispatcher(ctx, gateway, concurrency=1).run_once()
    first = sms_rows(ctx)
    throttled = [r for r in first if r.error_code == "Throttling.User"]
    assert throttled and all(r.status == "pending" and r.attempts == 1 for r in throttled)
    clock.advance(timedelta(seconds=ctx.settings.retry_max_seconds * 2))
    Dispatcher(ctx, gateway, concurrency=1).drain()
    rows = {r.to_number: r for r in sms_rows(ctx) if r.kind == "callout"}
    bad = [r for n, r in rows.items() if n.endswith("17400031676")]
    assert len(bad) == 1 and bad[0].status == "failed" and bad[0].error_code == "MOBILE_NUMBER_ILLEGA"
    assert all(r.status == "sent" for n, r in rows.items() if not n.endswith("17400031676"))
    with ctx.sessions() as session:
        summaries = session.scalars(select(OutboxRow).where(OutboxRow.incident_id == incident,
                                                            OutboxRow.kind == "failure_summary")).all()
    assert summaries, "a permanent failure is reported to the group's head, as with Twilio"


def test_crash_after_the_provider_took_the_batch(world: tuple[AppContext, AlibabaStubServer, TwilioStubServer],
                                                clock: FakeClock) -> None:
    ctx, alibaba, _ = world
    raise_alert(ctx, "flood", 3, "长河水位上涨", by="duty officer")
    gateway = make_gateway(ctx.settings, ctx.clock, ctx.plan.messaging)
    dead = Dispatcher(ctx, gateway, worker_id="dead")
    claimed = [c for c in dead.claim() if c.channel == "sms" and c.to.startswith("+86")]
    hand_over(gateway, claimed, None)  # the provider took them; the worker died before recording it
    sent_before = len(alibaba.messages)
    clock.advance(timedelta(seconds=ctx.settings.claim_timeout_seconds + 1))
    survivor = Dispatcher(ctx, gateway, worker_id="survivor", concurrency=1)
    assert survivor.reconcile() >= len(claimed)
    with ctx.sessions() as session:
        outcomes = {a.outbox_id: a.outcome for a in session.scalars(select(SendAttemptRow))}
    assert {outcomes[c.id] for c in claimed} == {"reconciled-sent"}
    survivor.drain()
    sent_again = {m.number for m in alibaba.messages[sent_before:]}
    assert not sent_again & {c.to.removeprefix("+86") for c in claimed}
