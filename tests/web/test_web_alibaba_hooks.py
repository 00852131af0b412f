"""Alibaba Cloud's pushes through the real ASGI app: a reply by SmsUp confirms through the same inbound path as
Twilio's, delivery receipts find their message by ``biz_id:phone``, bad pushes are refused and change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cn_support import TOKEN, cn_context, stubs
from sqlalchemy import select
from web_hooks_support import AsgiClient, snapshot

from responder.app.alerts import raise_alert
from responder.domain.clock import FakeClock
from responder.gateways.factory import make_gateway
from responder.storage.models import InboundMessageRow, OutboxRow, RecipientRow
from responder.testing.alibaba_server import AlibabaStubServer
from responder.web import create_app
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher

REPLIES = {"prefix": "+86", "sms": "aliyun", "voice": "aliyun", "confirm": "reply", "replies": True}


@pytest.fixture
def world(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[AppContext, AlibabaStubServer, AsgiClient, int]]:
    with stubs() as (alibaba, twilio):
        routes = [REPLIES, {"prefix": "+", "sms": "twilio", "voice": "twilio"}]
        ctx = cn_context(f"sqlite:///{tmp_path / 'r.db'}", clock, tmp_path, alibaba, twilio, change={"routes": routes})
        incident = raise_alert(ctx, "flood", 2, "长河水位超警戒", by="duty officer").incident_id
        Dispatcher(ctx, make_gateway(ctx.settings, ctx.clock, ctx.plan.messaging), concurrency=1).drain()
        with AsgiClient(create_app(ctx)) as client:
            yield ctx, alibaba, client, incident
        ctx.engine.dispose()


def test_a_domestic_reply_confirms(world: tuple[AppContext, AlibabaStubServer, AsgiClient, int]) -> None:
    ctx, alibaba, client, incident = world
    assert alibaba.messages and not alibaba.calls  # confirm: reply: no voice call right after the SMS
    number = alibaba.messages[0].number
    answer = client.post(f"/alibaba/{TOKEN}/sms-up", json=AlibabaStubServer.smsup(number, "1", sequence_id=9))
    assert answer.status_code == 200 and answer.json() == {"code": 0, "msg": "接收成功"}
    with ctx.sessions() as session:
        confirmed = session.scalars(select(RecipientRow).where(RecipientRow.incident_id == incident,
                                                               RecipientRow.phone == f"+86{number}")).one()
        inbound = session.scalars(select(InboundMessageRow)).one()
    assert confirmed.confirmed_at is not None and confirmed.confirmed_channel == "sms"
    assert inbound.from_number == f"+86{number}" and inbound.sid == "smsup:9"


def test_receipts_find_their_message(world: tuple[AppContext, AlibabaStubServer, AsgiClient, int]) -> None:
    ctx, alibaba, client, _ = world
    good, bad = alibaba.messages[0], alibaba.messages[1]
    assert client.post(f"/alibaba/{TOKEN}/sms-report", json=AlibabaStubServer.sms_report(good)).status_code == 200
    assert client.post(f"/alibaba/{TOKEN}/sms-report",
                       json=AlibabaStubServer.sms_report(bad, success=False)).status_code == 200
    with ctx.sessions() as session:
        status = {r.to_number: (r.status, r.error_code) for r in session.scalars(select(OutboxRow))
                  if r.to_number in (f"+86{good.number}", f"+86{bad.number}") and r.kind == "callout"}
    assert status == {f"+86{good.number}": ("delivered", None), f"+86{bad.number}": ("undelivered", "MK:0001")}


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/alibaba/wrong-token/sms-up", b'[{"phone_number": "17400007919", "content": "1", "sequence_id": 1}]', 403),
    (f"/alibaba/{TOKEN}/sms-up", b"not json", 400),
    (f"/alibaba/{TOKEN}/sms-up", b'{"phone_number": "17400007919"}', 400),
    (f"/alibaba/{TOKEN}/sms-up", b'[{"phone_number": "x; drop", "content": "1", "sequence_id": 1}]', 400),
    (f"/alibaba/{TOKEN}/voice-report", b'[{"dtmf": "1", "out_id": "1"}]', 400),
    (f"/alibaba/{TOKEN}/sms-up", b'[{"phone_number": "17400007919", "content": "1", "sequence_id": 1}, '
     b'{"phone_number": "17400015838", "content": "1"}]', 400),  # the second is broken: the first is not applied
])
def test_bad_pushes_change_nothing(world: tuple[AppContext, AlibabaStubServer, AsgiClient, int], path: str,
                                   body: bytes, status: int) -> None:
    ctx, _, client, _ = world
    before = snapshot(ctx, "recipients", "inbound_messages", "outbox")
    answer = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == status
    assert snapshot(ctx, "recipients", "inbound_messages", "outbox") == before


def test_no_token_configured_refuses_every_push(tmp_path: Path, clock: FakeClock) -> None:
    ctx = cn_context(f"sqlite:///{tmp_path / 'r.db'}", clock, tmp_path, None, None, alibaba_callback_token=None)
    with AsgiClient(create_app(ctx)) as client:
        answer = client.post(f"/alibaba/{TOKEN}/sms-up", json=AlibabaStubServer.smsup("17400007919", "1"))
    assert answer.status_code == 503
