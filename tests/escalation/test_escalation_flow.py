"""The whole escalation of an orange (level 2) flood warning, on the fake clock, through the real ASGI app (signed
web hooks) and the dispatcher with the FakeGateway as the outer edge:

raise → nobody replies → 10 min SMS resent → 15 min voice calls → one person presses 1 → nothing more for that
person but the stand-down, the others are still chased → 20 min group deputies → 25 min group leaders → 30 min
deputy commander in charge → 40 min township head, only if the deputy did not answer → 60 min county → stand-down
stops everything but the stand-down texts.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from itertools import count

import pytest
from alerts_support import raw_plan, raw_roster
from escalation_support import (
    COUNTY,
    OFFICER,
    OUR_NUMBER,
    REASON,
    T0,
    acknowledgements,
    after,
    audit,
    grouped,
    outbox_rows,
    recipient,
    recipients,
    steps_of,
)
from web_hooks_support import PUBLIC_URL, SignedClient, dispatch

from responder.app.alerts import change_level, end_alert, raise_alert
from responder.app.confirm import acknowledge
from responder.app.escalation import run_due
from responder.app.status import timeline
from responder.domain.clock import FakeClock
from responder.gateways.fake import FakeGateway, SendRecord
from responder.storage.models import OutboxRow, RecipientRow
from responder.wiring import AppContext

PERSON = "O003"
"""A plain office member (no group head, not on the reporting chain): confirms by voice in the middle."""
DEPUTY_IN_CHARGE = "C002"
HEAD = "C001"
_sids = count(1)


def at(clock: FakeClock, minutes: float) -> datetime:
    clock.set(T0 + timedelta(minutes=minutes))
    return clock.now()


def name(person: str) -> str:
    return raw_roster()[person].name


def sms_reply(twilio: SignedClient, phone: str, body: str) -> None:
    response = twilio.post("/twilio/inbound", {"From": phone, "To": OUR_NUMBER, "Body": body,
                                               "MessageSid": f"SM{next(_sids):032x}", "AccountSid": "AC" + "0" * 32})
    assert response.status_code == 200, response.text


def records_to(gateway: FakeGateway, phone: str, since: datetime | None = None) -> list[SendRecord]:
    return [r for r in gateway.records if r.to == phone and (since is None or r.time > since)]


def names_list(names: list[str], limit: int = 12) -> str:
    """As a report writes them in Chinese: at most ``limit`` names, then how many more."""
    more = len(names) - limit
    return "、".join(names[:limit]) + (f"等{more}人" if more > 0 else "")


def report_names(groups: dict[str, list[RecipientRow]], report: OutboxRow, *confirmed: str) -> list[str]:
    """Who a group report should name: the group's members (roster order) but the confirmed and the reader."""
    found = re.search(r"级：(.+?)以下\d+人", report.body)
    assert found, report.body
    group = next(g["id"] for g in raw_plan()["groups"] if g["name"]["zh"] == found[1])
    skip = {*confirmed, report.person_id}
    return [name(r.person_id) for r in groups[group] if r.person_id not in skip]


def listed(text: str) -> str:
    """The names part of an escalation report: after the last colon (Chinese or Latin)."""
    return text.replace(":", "：").rsplit("：", 1)[1]


@pytest.mark.parametrize("deputy_answers", [True, False], ids=["deputy-in-charge-answers", "nobody-answers"])
def test_level_2_escalation_end_to_end(web_ctx: AppContext, twilio: SignedClient, gateway: FakeGateway,
                                       clock: FakeClock, deputy_answers: bool) -> None:
    ctx = web_ctx
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    incident = raised.incident_id
    dispatch(ctx, gateway)
    people = recipients(ctx, incident)
    groups = grouped(people)
    called = {r.person_id for rs in groups.values() for r in rs}
    phone = {r.person_id: r.phone for r in people}
    callout_text = {m.person_id: m.body for m in outbox_rows(ctx, incident, kind="callout")}
    assert len(called) == 63 and set(callout_text) == called
    assert len(gateway.sms) == 63 and gateway.calls == []

    # -- nobody replies: nothing happens before the deadline ------------------------------------------------------
    at(clock, 10 - 1 / 60)  # 9:59
    assert run_due(ctx) == []

    # -- 10 min: the SMS again, to everyone who has not confirmed ---------------------------------------------------
    t10 = at(clock, 10)
    [step] = run_due(ctx)
    assert (step.action, step.status, step.messages) == ("resend_sms", "done", 63)
    dispatch(ctx, gateway)
    resends = outbox_rows(ctx, incident, kind="resend")
    assert sorted(m.person_id for m in resends) == sorted(called)
    assert all(m.channel == "sms" and m.status == "sent" and m.body == callout_text[m.person_id] for m in resends)
    assert sorted(r.to for r in gateway.sms if r.time == t10) == sorted(phone[p] for p in called)

    # -- 15 min: voice calls that read the message in the person's language and take "press 1" ---------------------
    t15 = at(clock, 15)
    [step] = run_due(ctx)
    assert (step.action, step.status, step.messages) == ("voice_call", "done", 63)
    dispatch(ctx, gateway)
    voice = outbox_rows(ctx, incident, kind="voice")
    assert sorted(m.person_id for m in voice) == sorted(called)
    assert all(m.channel == "voice" and m.status == "sent" and (m.sid or "").startswith("CA") for m in voice)
    assert sorted(c.to for c in gateway.calls) == sorted(phone[p] for p in called)
    assert {c.time for c in gateway.calls} == {t15}
    [call] = [m for m in voice if m.person_id == PERSON]
    assert REASON in call.body and "按1" in call.body
    [placed] = [c for c in gateway.calls if c.reference == str(call.id)]
    assert (placed.body, placed.language) == (call.body, "zh")
    assert placed.keypress_url == f"{PUBLIC_URL}/twilio/voice/{call.id}/gather"
    [english] = [m for m in voice if m.person_id == "T004"]  # read in the person's language
    assert "Press 1 to confirm" in english.body
    [placed] = [c for c in gateway.calls if c.reference == str(english.id)]
    assert (placed.body, placed.language) == (english.body, "en")

    # -- 16 min: PERSON presses 1 during the call -------------------------------------------------------------------
    confirmed_at = at(clock, 16)
    pressed = twilio.post(f"/twilio/voice/{call.id}/gather", {"CallSid": call.sid or "", "Digits": "1",
                                                              "AccountSid": "AC" + "0" * 32})
    assert pressed.status_code == 200, pressed.text
    answer = ET.fromstring(pressed.text.encode())
    assert answer.find("Say") is not None and answer.find("Hangup") is not None
    row = recipient(ctx, incident, PERSON)
    assert (row.confirmed_at, row.confirmed_channel) == (confirmed_at, "voice")
    [ack] = acknowledgements(ctx, incident)
    assert (ack.person_id, ack.channel, ack.at) == (PERSON, "voice", confirmed_at)
    [event] = audit(ctx, incident, "confirmed")
    assert (event.evidence["person"], event.evidence["channel"], event.at) == (PERSON, "voice", confirmed_at)

    # -- 20 min: each group's deputy hears who of the group has not confirmed --------------------------------------
    t20 = at(clock, 20)
    [step] = run_due(ctx)
    assert (step.action, step.status) == ("notify_group_deputy", "done")
    dispatch(ctx, gateway)
    deputies = outbox_rows(ctx, incident, kind="escalate_group")
    assert {m.created_at for m in deputies} == {t20}
    [office_deputy] = [m for m in deputies if m.person_id == "O002"]
    assert listed(office_deputy.body) == f"{name('O001')}、{name('O004')}", office_deputy.body
    assert "以下2人" in office_deputy.body
    for m in deputies:  # every report names exactly the group's unconfirmed members but the reader
        assert listed(m.body) == names_list(report_names(groups, m, PERSON)), m.body

    # -- 25 min: each group's leader, with the names ---------------------------------------------------------------
    t25 = at(clock, 25)
    [step] = run_due(ctx)
    assert (step.action, step.status) == ("notify_group_leader", "done")
    dispatch(ctx, gateway)
    leaders = [m for m in outbox_rows(ctx, incident, kind="escalate_group") if m.created_at == t25]
    leader_ids = {r.person_id for rs in groups.values() for r in rs for a in r.assignments
                  if a.get("role") == "leader"}
    assert {m.person_id for m in leaders} == leader_ids
    [office_leader] = [m for m in leaders if m.person_id == "O001"]
    assert listed(office_leader.body) == f"{name('O002')}、{name('O004')}", office_leader.body
    [rescue_leader] = [m for m in leaders if m.person_id == "C002" and "抢险组" in m.body]
    assert "以下13人" in rescue_leader.body  # R001 … R013: all but the leader himself
    for m in leaders:
        assert listed(m.body) == names_list(report_names(groups, m, PERSON)), m.body

    # -- 30 min: the deputy commander in charge ---------------------------------------------------------------------
    t30 = at(clock, 30)
    [step] = run_due(ctx)
    assert (step.action, step.status) == ("notify_chain", "done")
    dispatch(ctx, gateway)
    [told] = outbox_rows(ctx, incident, kind="escalate_chain")
    assert (told.person_id, told.created_at, told.status) == (DEPUTY_IN_CHARGE, t30, "sent")
    # the reader is not listed among those who have not confirmed (he hears about the others)
    assert "仍有61人未确认" in told.body and name(PERSON) not in told.body

    # -- 31 min / 40 min: the township head only if the deputy in charge did not answer ----------------------------
    if deputy_answers:
        answered_at = at(clock, 31)
        sms_reply(twilio, phone[DEPUTY_IN_CHARGE], f"1 {raised.code}")
        assert recipient(ctx, incident, DEPUTY_IN_CHARGE).confirmed_at == answered_at
    t40 = at(clock, 40)
    [step] = run_due(ctx)
    assert step.action == "notify_chain"
    dispatch(ctx, gateway)
    head_told = [m for m in outbox_rows(ctx, incident, kind="escalate_chain") if m.person_id == HEAD]
    if deputy_answers:
        assert step.status == "skipped" and "deputy_in_charge answered" in step.detail
        assert head_told == []
    else:
        assert step.status == "done"
        [message] = head_told
        assert message.created_at == t40 and "仍有61人未确认" in message.body

    # -- 60 min: the county -------------------------------------------------------------------------------------------
    t60 = at(clock, 60)
    [step] = run_due(ctx)
    assert (step.action, step.status) == ("notify_chain", "done")
    [county] = [m for m in outbox_rows(ctx, incident, kind="escalate_chain") if m.person_id == COUNTY]
    assert county.status == "pending" and county.created_at == t60
    unconfirmed = 61 if deputy_answers else 62
    assert f"仍有{unconfirmed}人未确认" in county.body

    # -- 61 min: stand-down, before the county's message went out ---------------------------------------------------
    ended_at = at(clock, 61)
    ended = end_alert(ctx, incident, "水位回落至警戒线以下", OFFICER)
    assert ended.cancelled >= 1
    assert [m.status for m in outbox_rows(ctx, incident, person=COUNTY)] == ["cancelled"]
    steps = steps_of(ctx, incident)
    assert [s.status for s in steps if s.round == 0] == ["done"] * 5 + [
        "skipped" if deputy_answers else "done", "done"]
    assert {s.status for s in steps if s.round == 1} == {"cancelled"}
    assert {s.done_by for s in steps if s.round == 1} == {f"stand-down by {OFFICER}"}
    assert [m for m in outbox_rows(ctx, incident) if m.status == "pending" and m.kind != "standdown"] == []

    dispatch(ctx, gateway)
    at(clock, 6 * 60)  # hours later, long past every step of both rounds
    assert run_due(ctx) == []
    dispatch(ctx, gateway)
    late = [r for r in gateway.records if r.time >= ended_at]
    standdown = {m.to_number: m.body for m in outbox_rows(ctx, incident, kind="standdown")}
    assert late and all(r.kind == "sms" and standdown.get(r.to) == r.body for r in late)
    assert sorted(r.to for r in late) == sorted(standdown), "each told person hears it once"
    assert phone[PERSON] in standdown
    assert COUNTY not in {m.person_id for m in outbox_rows(ctx, incident, kind="standdown")}, \
        "the county's report was cancelled before it went out: nothing to stand down"

    # -- PERSON: nothing after the keypress but the stand-down ------------------------------------------------------
    assert [m.kind for m in after(outbox_rows(ctx, incident, person=PERSON), confirmed_at)] == ["standdown"]
    assert [r.body for r in records_to(gateway, phone[PERSON], confirmed_at)] == [standdown[phone[PERSON]]]
    # … while the others were chased all along
    assert [m.kind for m in outbox_rows(ctx, incident, person="O004")] == ["callout", "resend", "voice", "standdown"]

    # -- the audit timeline has each step at its time ---------------------------------------------------------------
    events = [e for e in timeline(ctx, incident) if e["kind"] in ("escalation", "escalation_skipped")]
    assert [(e["evidence"]["action"], e["evidence"]["chain_step"], e["at"]) for e in events] == [
        ("resend_sms", None, t10), ("voice_call", None, t15), ("notify_group_deputy", None, t20),
        ("notify_group_leader", None, t25), ("notify_chain", "deputy_in_charge", t30),
        ("notify_chain", "township_head", t40), ("notify_chain", "county", t60)]
    assert [e["kind"] for e in events][5] == ("escalation_skipped" if deputy_answers else "escalation")
    assert all(e["evidence"]["due_at"] == e["at"].isoformat() for e in events)
    kinds = [e["kind"] for e in timeline(ctx, incident)]
    assert kinds[0] == "raised" and kinds[-1] == "ended" and "confirmed" in kinds


def test_a_confirmed_person_still_hears_of_level_changes_but_no_reminders(web_ctx: AppContext, gateway: FakeGateway,
                                                                          clock: FakeClock) -> None:
    ctx = web_ctx
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    dispatch(ctx, gateway)
    confirmed_at = at(clock, 5)
    assert acknowledge(ctx, raised.incident_id, PERSON, OFFICER).outcome == "confirmed"
    at(clock, 12)
    change_level(ctx, raised.incident_id, 1, "上游水库溃坝", OFFICER)
    dispatch(ctx, gateway)
    at(clock, 12 + 30)  # the whole first round of level 1 (the second starts at 35 minutes)
    assert len(run_due(ctx)) == 7
    dispatch(ctx, gateway)
    kinds = [m.kind for m in after(outbox_rows(ctx, raised.incident_id, person=PERSON), confirmed_at)]
    assert kinds == ["upgrade"]
    assert [m.kind for m in outbox_rows(ctx, raised.incident_id, person="O004")][-3:] == ["upgrade", "resend", "voice"]
