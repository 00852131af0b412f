"""Confirming through the web hooks: SMS replies and voice keypresses, through the real ASGI app, signed with
the real validator, on a real SQLite database."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import select
from web_hooks_support import (
    PUBLIC_URL,
    SignedClient,
    dispatch,
    snapshot,
    table_counts,
)

from responder.app.alerts import Outcome, end_alert, raise_alert
from responder.app.escalation import run_due
from responder.domain.clock import FakeClock
from responder.gateways.fake import FakeGateway
from responder.gateways.twilio.twiml import call_twiml
from responder.storage.models import (
    AcknowledgementRow,
    AuditEventRow,
    InboundMessageRow,
    OutboxRow,
    RecipientRow,
)
from responder.wiring import AppContext

INBOUND = "/twilio/inbound"
STATUS = "/twilio/status"
OUR_NUMBER = "+8617400000001"
PERSON, PHONE = "O003", "+8617400023757"
"""An office member: called out for floods and droughts alike."""
OTHER = "O004"
_sids = count(1)


def new_sid() -> str:
    return f"SM{next(_sids):032x}"


@pytest.fixture
def gateway(clock: FakeClock) -> FakeGateway:
    return FakeGateway(clock=clock)


def reply(twilio: SignedClient, body: str, from_: str = PHONE, sid: str | None = None) -> None:
    response = twilio.post(INBOUND, {"From": from_, "To": OUR_NUMBER, "Body": body, "MessageSid": sid or new_sid(),
                                     "AccountSid": "AC" + "0" * 32, "NumMedia": "0"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response" and len(root) == 0  # replies go through the outbox, never in the answer


def recipient(ctx: AppContext, incident_id: int, person: str = PERSON) -> RecipientRow:
    with ctx.sessions() as session:
        row = session.scalar(select(RecipientRow).where(RecipientRow.incident_id == incident_id,
                                                        RecipientRow.person_id == person))
    assert row is not None
    return row


def messages(ctx: AppContext, person: str = PERSON, kind: str | None = None) -> list[OutboxRow]:
    with ctx.sessions() as session:
        query = select(OutboxRow).where(OutboxRow.person_id == person).order_by(OutboxRow.id)
        if kind is not None:
            query = query.where(OutboxRow.kind == kind)
        return list(session.scalars(query))


def audit(ctx: AppContext, kind: str) -> list[AuditEventRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(AuditEventRow).where(AuditEventRow.kind == kind)))


def inbound_rows(ctx: AppContext) -> list[InboundMessageRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(InboundMessageRow).order_by(InboundMessageRow.id)))


def acknowledgements(ctx: AppContext) -> list[AcknowledgementRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(AcknowledgementRow)))


@pytest.fixture
def flood(web_ctx: AppContext, clock: FakeClock, gateway: FakeGateway) -> Outcome:
    """Flood level 3 called out and sent; 30 minutes on nobody has confirmed and SMS reminders are queued."""
    outcome = raise_alert(web_ctx, "flood", 3, "river rising at Sanjian bridge", by="officer")
    dispatch(web_ctx, gateway)
    clock.advance(timedelta(minutes=30))
    assert [o.action for o in run_due(web_ctx)] == ["resend_sms"]
    return outcome


# -- SMS replies ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["1", "1 {code}", "1{code}", "ok", "OK", "收到", "确认", "１", "yes"])
def test_a_reply_confirms(web_ctx: AppContext, twilio: SignedClient, flood: Outcome, clock: FakeClock,
                          body: str) -> None:
    assert [m.status for m in messages(web_ctx, PERSON, "resend")] == ["pending"]
    clock.advance(timedelta(minutes=1))

    reply(twilio, body.format(code=flood.code))

    confirmed = recipient(web_ctx, flood.incident_id)
    assert confirmed.confirmed_at == clock.now() and confirmed.confirmed_channel == "sms"
    [event] = audit(web_ctx, "confirmed")
    assert event.incident_id == flood.incident_id and event.evidence["person"] == PERSON
    assert event.evidence["channel"] == "sms" and event.evidence["cancelled"] == 1
    [answer] = messages(web_ctx, PERSON, "confirmed")
    assert answer.status == "pending" and flood.code in answer.body and answer.to_number == PHONE
    assert [m.status for m in messages(web_ctx, PERSON, "resend")] == ["cancelled"]
    assert [m.status for m in messages(web_ctx, OTHER, "resend")] == ["pending"]  # the others are still chased
    assert recipient(web_ctx, flood.incident_id, OTHER).confirmed_at is None
    [stored] = inbound_rows(web_ctx)
    assert stored.outcome == "confirmed" and stored.person_id == PERSON and stored.incident_id == flood.incident_id


def test_a_repeated_webhook_confirms_once_and_replies_once(web_ctx: AppContext, twilio: SignedClient,
                                                           flood: Outcome) -> None:
    sid = new_sid()
    reply(twilio, "1", sid=sid)
    after_first = table_counts(web_ctx)
    reply(twilio, "1", sid=sid)
    assert table_counts(web_ctx) == after_first
    assert len(acknowledgements(web_ctx)) == 1 and len(audit(web_ctx, "confirmed")) == 1
    assert len(messages(web_ctx, PERSON, "confirmed")) == 1 and len(inbound_rows(web_ctx)) == 1


def test_a_second_reply_is_stored_but_confirms_nothing_more(web_ctx: AppContext, twilio: SignedClient,
                                                            flood: Outcome) -> None:
    reply(twilio, "1")
    reply(twilio, "收到")
    assert len(acknowledgements(web_ctx)) == 1 and len(audit(web_ctx, "confirmed")) == 1
    assert len(messages(web_ctx, PERSON, "confirmed")) == 1
    assert [r.outcome for r in inbound_rows(web_ctx)] == ["confirmed", "duplicate"]


def test_other_text_is_stored_for_the_duty_officer(web_ctx: AppContext, twilio: SignedClient,
                                                   flood: Outcome) -> None:
    reply(twilio, "where is the meeting? <b>&amp;")
    assert recipient(web_ctx, flood.incident_id).confirmed_at is None
    [stored] = inbound_rows(web_ctx)
    assert stored.outcome == "note" and stored.body == "where is the meeting? <b>&amp;"
    assert len(audit(web_ctx, "reply")) == 1


def test_with_two_open_incidents_a_bare_1_asks_which_and_a_code_decides(web_ctx: AppContext,
                                                                       twilio: SignedClient) -> None:
    flood = raise_alert(web_ctx, "flood", 4, "river rising", by="officer")
    drought = raise_alert(web_ctx, "drought", 4, "no rain for 40 days", by="officer")

    reply(twilio, "1")

    assert recipient(web_ctx, flood.incident_id).confirmed_at is None
    assert recipient(web_ctx, drought.incident_id).confirmed_at is None
    assert acknowledgements(web_ctx) == [] and audit(web_ctx, "confirmed") == []
    [ask] = messages(web_ctx, PERSON, "which_incident")
    assert flood.code in ask.body and drought.code in ask.body and ask.to_number == PHONE
    assert inbound_rows(web_ctx)[-1].outcome == "ask_code"

    reply(twilio, f"1 {drought.code}")

    assert recipient(web_ctx, drought.incident_id).confirmed_channel == "sms"
    assert recipient(web_ctx, flood.incident_id).confirmed_at is None
    [answer] = messages(web_ctx, PERSON, "confirmed")
    assert answer.incident_id == drought.incident_id and drought.code in answer.body
    assert inbound_rows(web_ctx)[-1].outcome == "confirmed"


def test_a_reply_from_an_unknown_number_is_stored(web_ctx: AppContext, twilio: SignedClient,
                                                  flood: Outcome) -> None:
    before = snapshot(web_ctx, "outbox", "recipients", "acknowledgements")
    reply(twilio, "1", from_="+8613900001234")
    [stored] = inbound_rows(web_ctx)
    assert stored.outcome == "unknown_sender" and stored.from_number == "+8613900001234" and stored.body == "1"
    assert snapshot(web_ctx, "outbox", "recipients", "acknowledgements") == before


def test_a_reply_after_the_stand_down_is_stored(web_ctx: AppContext, twilio: SignedClient, flood: Outcome) -> None:
    end_alert(web_ctx, flood.incident_id, "the river is back in its bed", by="officer")
    before = snapshot(web_ctx, "outbox", "recipients", "acknowledgements")
    reply(twilio, "1")
    [stored] = inbound_rows(web_ctx)
    assert stored.outcome == "no_open_incident" and stored.person_id == PERSON
    assert snapshot(web_ctx, "outbox", "recipients", "acknowledgements") == before


# -- voice ------------------------------------------------------------------------------------------------------


@dataclass
class Calls:
    incident: Outcome
    gateway: FakeGateway
    mine: OutboxRow
    """The voice call placed to PERSON."""
    other: OutboxRow

    def gather(self, outbox_id: int | None = None) -> str:
        return f"/twilio/voice/{outbox_id or self.mine.id}/gather"


@pytest.fixture
def calls(web_ctx: AppContext, clock: FakeClock, gateway: FakeGateway) -> Calls:
    """Flood level 3; 45 minutes on, nobody has confirmed: SMS reminders and voice calls have gone out."""
    outcome = raise_alert(web_ctx, "flood", 3, "river rising at Sanjian bridge", by="officer")
    dispatch(web_ctx, gateway)
    clock.advance(timedelta(minutes=45))
    assert [o.action for o in run_due(web_ctx)] == ["resend_sms", "voice_call"]
    dispatch(web_ctx, gateway)
    [mine] = messages(web_ctx, PERSON, "voice")
    [other] = messages(web_ctx, OTHER, "voice")
    assert mine.channel == "voice" and mine.status == "sent" and (mine.sid or "").startswith("CA")
    return Calls(outcome, gateway, mine, other)


def parse(response_text: str) -> ET.Element:
    return ET.fromstring(response_text.encode())


def test_calls_read_the_message_and_gather_a_keypress(web_ctx: AppContext, twilio: SignedClient,
                                                      calls: Calls) -> None:
    [placed] = [c for c in calls.gateway.calls if c.reference == str(calls.mine.id)]
    assert (placed.body, placed.language, placed.keypress_url) == (calls.mine.body, "zh", PUBLIC_URL + calls.gather())
    inline = call_twiml(placed.body, placed.language or "", placed.keypress_url)  # what Twilio's adapter places
    root = parse(inline)
    gathers = root.findall("Gather")
    assert gathers and all(g.get("action") == PUBLIC_URL + calls.gather() for g in gathers)
    say = gathers[0].find("Say")
    assert say is not None and say.get("language") == "cmn-CN" and say.text == calls.mine.body

    fetch = {"CallSid": calls.mine.sid or "", "CallStatus": "in-progress"}
    served = twilio.post(f"/twilio/voice/{calls.mine.id}", fetch)
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/xml")
    assert served.text == inline  # the same document, inline or fetched


def test_pressing_1_confirms_by_voice(web_ctx: AppContext, twilio: SignedClient, calls: Calls,
                                      clock: FakeClock) -> None:
    clock.advance(timedelta(seconds=30))
    response = twilio.post(calls.gather(), {"CallSid": calls.mine.sid or "", "Digits": "1"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    root = parse(response.text)
    say = root.find("Say")
    assert say is not None and say.get("language") == "cmn-CN"
    assert say.text is not None and "确认" in say.text and calls.incident.code in say.text
    assert root.find("Hangup") is not None

    confirmed = recipient(web_ctx, calls.incident.incident_id)
    assert confirmed.confirmed_at == clock.now() and confirmed.confirmed_channel == "voice"
    [event] = audit(web_ctx, "confirmed")
    assert event.evidence == {**event.evidence, "person": PERSON, "channel": "voice"}
    assert messages(web_ctx, PERSON, "confirmed") == []  # they heard it on the phone
    assert recipient(web_ctx, calls.incident.incident_id, OTHER).confirmed_at is None

    again = twilio.post(calls.gather(), {"CallSid": calls.mine.sid or "", "Digits": "1"})
    assert again.status_code == 200 and parse(again.text).find("Say") is not None
    assert len(acknowledgements(web_ctx)) == 1 and len(audit(web_ctx, "confirmed")) == 1


def test_another_key_repeats_the_prompt_once(web_ctx: AppContext, twilio: SignedClient, calls: Calls) -> None:
    response = twilio.post(calls.gather(), {"CallSid": calls.mine.sid or "", "Digits": "2"})
    assert response.status_code == 200
    [gather] = parse(response.text).findall("Gather")
    retry = calls.gather() + "?attempt=2"
    assert gather.get("action") == PUBLIC_URL + retry
    say = gather.find("Say")
    assert say is not None and say.text == calls.mine.body

    second = twilio.post(retry, {"CallSid": calls.mine.sid or "", "Digits": "#"})
    assert second.status_code == 200
    root = parse(second.text)
    assert root.find("Gather") is None and root.find("Hangup") is not None
    assert recipient(web_ctx, calls.incident.incident_id).confirmed_at is None
    assert acknowledgements(web_ctx) == [] and audit(web_ctx, "confirmed") == []

    late = twilio.post(retry, {"CallSid": calls.mine.sid or "", "Digits": "1"})  # 1 on the repeat still counts
    assert late.status_code == 200 and recipient(web_ctx, calls.incident.incident_id).confirmed_channel == "voice"


def test_a_keypress_for_an_unknown_call_hangs_up(web_ctx: AppContext, twilio: SignedClient, calls: Calls) -> None:
    before = snapshot(web_ctx, "recipients", "acknowledgements", "outbox")
    for path in (calls.gather(999_999), "/twilio/voice/999999"):
        response = twilio.post(path, {"CallSid": "CA" + "9" * 32, "Digits": "1"})
        assert response.status_code == 200
        assert parse(response.text).find("Hangup") is not None
    assert snapshot(web_ctx, "recipients", "acknowledgements", "outbox") == before


def test_a_keypress_after_the_stand_down_confirms_nothing(web_ctx: AppContext, twilio: SignedClient,
                                                          calls: Calls) -> None:
    end_alert(web_ctx, calls.incident.incident_id, "the river is back in its bed", by="officer")
    response = twilio.post(calls.gather(), {"CallSid": calls.mine.sid or "", "Digits": "1"})
    assert response.status_code == 200 and parse(response.text).find("Hangup") is not None
    assert recipient(web_ctx, calls.incident.incident_id).confirmed_at is None


def test_call_status_callbacks_update_the_call(web_ctx: AppContext, twilio: SignedClient, calls: Calls) -> None:
    for call, status in ((calls.mine, "completed"), (calls.other, "no-answer")):
        response = twilio.post(STATUS, {"CallSid": call.sid or "", "CallStatus": status, "AccountSid": "AC" + "0" * 32})
        assert response.status_code == 204
    with web_ctx.sessions() as session:
        answered, missed = session.get(OutboxRow, calls.mine.id), session.get(OutboxRow, calls.other.id)
    assert answered is not None and answered.status == "delivered"
    assert missed is not None and missed.status == "undelivered"
