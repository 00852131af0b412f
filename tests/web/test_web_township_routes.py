"""A township run end to end through the routes of the plan: every +86 person gets the Alibaba Cloud template SMS
and a voice call right after it, and confirms by pressing 1 (the provider's voice receipt, pushed to our hook);
the two people with foreign numbers get Twilio's SMS and confirm by replying. Real SDKs against the local stubs, the
real ASGI app, a real SQLite database; a drill, so the drill marker is in the provider's permitted form."""

from __future__ import annotations

from pathlib import Path

from cli_support import invoke
from cn_support import FOREIGN, TOKEN, TWILIO_TOKEN, cn_context, stubs
from sqlalchemy import select
from typer.testing import CliRunner
from web_hooks_support import AsgiClient, SignedClient

from responder.app.alerts import raise_alert
from responder.app.status import incident_status
from responder.domain.clock import FakeClock
from responder.gateways.factory import make_gateway
from responder.gateways.routed import RoutedGateway
from responder.storage.models import OutboxRow
from responder.testing.alibaba_server import AlibabaStubServer
from responder.web import create_app
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher


def rows(ctx: AppContext, incident_id: int) -> list[OutboxRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(OutboxRow).where(OutboxRow.incident_id == incident_id)
                                    .order_by(OutboxRow.id)))


def test_plus86_confirm_by_keypress_foreign_by_reply(tmp_path: Path, clock: FakeClock) -> None:
    with stubs() as (alibaba, twilio):
        ctx = cn_context(f"sqlite:///{tmp_path / 'r.db'}", clock, tmp_path, alibaba, twilio)
        gateway = make_gateway(ctx.settings, ctx.clock, ctx.plan.messaging)
        assert isinstance(gateway, RoutedGateway)
        outcome = raise_alert(ctx, "flood", 2, "长河水位超警戒0.3米", by="duty officer", is_drill=True)
        incident = outcome.incident_id
        Dispatcher(ctx, gateway, concurrency=1).drain()

        called = {r.person_id: r for r in rows(ctx, incident) if r.kind == "callout"}
        domestic = {pid for pid, r in called.items() if r.to_number.startswith("+86")}
        foreign = {pid for pid, r in called.items() if not r.to_number.startswith("+86")}
        assert foreign == set(FOREIGN) and len(domestic) > 10
        # +86: the approved template, its drill marker a parameter (演练：), never 【】 in the body; then a call.
        sms_to = {m.number for m in alibaba.messages}
        assert sms_to == {called[p].to_number.removeprefix("+86") for p in domestic}
        for sms in alibaba.messages:
            assert sms.template_code == "SMS_300000001" and sms.sign_name == "三建乡防汛办"
            assert sms.text.startswith("演练：三建乡洪涝") and "【" not in sms.text and "】" not in sms.text
            assert sms.params["code"] and all(len(v) <= 35 for v in sms.params.values())
        assert {c.number for c in alibaba.calls} == sms_to
        assert all(c.keys == {"1": "TTS_300000009"} and c.start_code == "TTS_300000001" for c in alibaba.calls)
        assert {c.params["drill"] for c in alibaba.calls} == {"演练："}  # the drill is said in the call too
        # What the outbox recorded as sent is what the provider sent (without its signature).
        texts = {m.number: m.text for m in alibaba.messages}
        assert all(called[p].body == texts[called[p].to_number.removeprefix("+86")] for p in domestic)
        # Foreign numbers: Twilio, free text, our own drill marker, "reply 1".
        assert {m.to for m in twilio.messages} == set(FOREIGN.values())
        assert not twilio.calls

        waiting = incident_status(ctx, incident)
        by_voice = {name for g in waiting.groups for name in g.awaiting_call}
        by_reply = {name for g in waiting.groups for name in g.not_confirmed}
        names = {p.person_id: p.name for p in waiting.people}
        assert by_reply == {names[p] for p in foreign if p in names}  # only they "have not replied"
        assert {names[p] for p in domestic if p in names} <= by_voice
        shown = invoke(CliRunner(env={"COLUMNS": "2000"}), "--db", ctx.settings.database_url,
                       "--plan", str(ctx.settings.plan_file), "--roster", str(ctx.settings.roster_file),
                       "alert", "status", str(incident))
        assert shown.exit_code == 0 and "awaiting the call's keypress" in shown.output, shown.output

        with AsgiClient(create_app(ctx)) as client:
            for call in alibaba.calls:
                answer = client.post(f"/alibaba/{TOKEN}/voice-report", json=AlibabaStubServer.ivr_report(call, "1"))
                assert answer.status_code == 200 and answer.json() == {"code": 0, "msg": "接收成功"}
            signed = SignedClient(client, token=TWILIO_TOKEN)
            for pid, phone in FOREIGN.items():
                reply = signed.post("/twilio/inbound", {"From": phone, "To": "+14155550100", "Body": "1",
                                                        "MessageSid": f"SM{pid.lower():0>32}"})
                assert reply.status_code == 200, reply.text

        status = incident_status(ctx, incident)
        people = {p.person_id: p for p in status.people}
        assert {pid for pid, p in people.items() if p.confirmed_at is not None} == set(called)
        assert {people[p].confirmed_channel for p in domestic} == {"voice"}
        assert {people[p].confirmed_channel for p in foreign} == {"sms"}
