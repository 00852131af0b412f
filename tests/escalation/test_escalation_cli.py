"""The duty officer's escalation commands through the real CLI (typer's CliRunner on ``responder.cli.main.app`` with
``--db --plan --roster``), at the fake time: ``alert ack`` (a confirmation taken by phone), ``alert escalate`` (the
next step now) and ``alert status`` (per group progress toward the plan's headcount, and the next step)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from alerts_support import Cli, raw_plan, raw_roster
from escalation_support import (
    OFFICER,
    REASON,
    T0,
    acknowledgements,
    audit,
    duration,
    outbox_rows,
    recipient,
    steps_of,
)
from web_hooks_support import dispatch

from responder.app.alerts import Outcome, end_alert, raise_alert
from responder.app.confirm import handle_inbound
from responder.app.escalation import run_due
from responder.domain.clock import FakeClock
from responder.gateways.base import PermanentError
from responder.gateways.fake import FakeGateway
from responder.wiring import AppContext

PERSON = "O003"
UNREACHABLE = "R005"
SMS_CONFIRMS = "R002"


@pytest.fixture
def flood(sqlite_ctx: AppContext, gateway: FakeGateway) -> Outcome:
    """Flood level 2 raised at T0 and sent; R005's number refuses every message."""
    raised = raise_alert(sqlite_ctx, "flood", 2, REASON, OFFICER)
    number = {m.person_id: m.to_number for m in outbox_rows(sqlite_ctx, raised.incident_id)}
    gateway.fail_numbers({number[UNREACHABLE]: PermanentError("The 'To' number is not a valid phone number.",
                                                               code="21211")})
    dispatch(sqlite_ctx, gateway)
    return raised


def cells(output: str, marker: str) -> list[str]:
    [line] = [line for line in output.splitlines() if marker in line]
    return [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]


def local(minutes: int) -> str:
    """T0 + minutes as the CLI shows it (the plan's zone, Asia/Shanghai, UTC+8)."""
    return (T0 + timedelta(hours=8, minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S CST")


# -- alert ack ----------------------------------------------------------------------------------------------------
def test_ack_records_a_phone_confirmation_and_stops_the_reminders(cli: Cli, sqlite_ctx: AppContext, flood: Outcome,
                                                                  clock: FakeClock, gateway: FakeGateway) -> None:
    incident = flood.incident_id
    clock.set(T0 + timedelta(minutes=10))
    assert [o.action for o in run_due(sqlite_ctx)] == ["resend_sms"]  # queued, not yet sent
    acked_at = clock.advance(timedelta(seconds=30))

    result = cli("alert", "ack", str(incident), "--person", PERSON, "--by", "李乙")
    assert result.exit_code == 0, result.output
    assert f"{PERSON} confirmed for incident #{incident}" in result.output

    row = recipient(sqlite_ctx, incident, PERSON)
    assert (row.confirmed_at, row.confirmed_channel, row.confirmed_by) == (acked_at, "phone", "李乙")
    [ack] = acknowledgements(sqlite_ctx, incident)
    assert (ack.person_id, ack.channel, ack.by, ack.at) == (PERSON, "phone", "李乙", acked_at)
    [event] = audit(sqlite_ctx, incident, "confirmed")
    assert event.actor == "李乙" and event.evidence["channel"] == "phone" and event.evidence["cancelled"] == 1
    assert [m.status for m in outbox_rows(sqlite_ctx, incident, person=PERSON, kind="resend")] == ["cancelled"]
    assert [m.status for m in outbox_rows(sqlite_ctx, incident, person="O004", kind="resend")] == ["pending"]
    assert outbox_rows(sqlite_ctx, incident, person=PERSON, kind="confirmed") == [], "they said it on the phone"

    clock.set(T0 + timedelta(minutes=15))
    assert [o.action for o in run_due(sqlite_ctx)] == ["voice_call"]
    dispatch(sqlite_ctx, gateway)
    assert outbox_rows(sqlite_ctx, incident, person=PERSON, kind="voice") == []
    assert [m.status for m in outbox_rows(sqlite_ctx, incident, person="O004", kind="voice")] == ["sent"]
    assert [m.kind for m in outbox_rows(sqlite_ctx, incident, person=PERSON) if m.created_at > acked_at] == []

    again = cli("alert", "ack", str(incident), "--person", PERSON, "--by", "李乙")
    assert again.exit_code == 0 and f"{PERSON} had already confirmed" in again.output
    assert len(acknowledgements(sqlite_ctx, incident)) == 1


def test_ack_refuses_someone_not_called_and_an_ended_incident(cli: Cli, sqlite_ctx: AppContext,
                                                              flood: Outcome) -> None:
    nobody = cli("alert", "ack", str(flood.incident_id), "--person", "L003", "--by", "李乙")  # militia: not at level 2
    assert nobody.exit_code != 0 and "'L003' was not called out" in nobody.output
    end_alert(sqlite_ctx, flood.incident_id, "水位回落", OFFICER)
    ended = cli("alert", "ack", str(flood.incident_id), "--person", PERSON, "--by", "李乙")
    assert ended.exit_code != 0 and "has already ended" in ended.output
    assert acknowledgements(sqlite_ctx) == []


# -- alert escalate -------------------------------------------------------------------------------------------------
def test_escalate_runs_the_next_step_now_and_only_once(cli: Cli, sqlite_ctx: AppContext, clock: FakeClock) -> None:
    """(Raised but not sent here: the CLI sends through a FakeGateway of its own, whose message ids start at 1.)"""
    incident = raise_alert(sqlite_ctx, "flood", 2, REASON, OFFICER).incident_id
    clock.set(T0 + timedelta(minutes=2))
    now = clock.now()
    first = cli("alert", "escalate", str(incident), "--by", "李乙", "--no-send")
    assert first.exit_code == 0, first.output
    assert re.search(r"step \d+ resend_sms: done, 63 people reminded by sms", first.output), first.output
    steps = steps_of(sqlite_ctx, incident)
    assert (steps[0].action, steps[0].status, steps[0].done_by, steps[0].done_at) == ("resend_sms", "done", "李乙",
                                                                                      now)
    assert steps[0].due_at == T0 + timedelta(minutes=10), "the plan's time is kept as it was"
    resends = outbox_rows(sqlite_ctx, incident, kind="resend")
    assert len(resends) == 63 and {m.status for m in resends} == {"pending"}

    second = cli("alert", "escalate", str(incident), "--by", "李乙")  # sends this time, through the fake gateway
    assert second.exit_code == 0, second.output
    assert re.search(r"step \d+ voice_call: done, 63 people reminded by voice", second.output), second.output
    assert "sent 189, failed 0" in second.output  # the call-out, the resend and the calls
    assert {m.status for m in outbox_rows(sqlite_ctx, incident)} == {"sent"}

    clock.set(T0 + timedelta(minutes=16))
    assert run_due(sqlite_ctx) == [], "the steps run by hand do not run again when they fall due"
    assert len(outbox_rows(sqlite_ctx, incident, kind="resend")) == 63
    assert len(outbox_rows(sqlite_ctx, incident, kind="voice")) == 63
    by_hand = audit(sqlite_ctx, incident, "escalation")
    assert [(e.actor, e.evidence["action"]) for e in by_hand] == [("李乙", "resend_sms"), ("李乙", "voice_call")]


def test_escalate_with_nothing_left_and_after_the_stand_down(cli: Cli, sqlite_ctx: AppContext, flood: Outcome,
                                                            clock: FakeClock) -> None:
    clock.set(T0 + timedelta(hours=3))
    run_due(sqlite_ctx)
    assert {s.status for s in steps_of(sqlite_ctx, flood.incident_id)} <= {"done", "skipped"}
    none_left = cli("alert", "escalate", str(flood.incident_id), "--by", "李乙")
    assert none_left.exit_code == 0 and "has no pending escalation step" in none_left.output

    other = raise_alert(sqlite_ctx, "drought", 2, "连续40天无有效降雨", OFFICER)
    end_alert(sqlite_ctx, other.incident_id, "降雨", OFFICER)
    ended = cli("alert", "escalate", str(other.incident_id), "--by", "李乙")
    assert ended.exit_code != 0 and "has already ended" in ended.output
    assert {s.status for s in steps_of(sqlite_ctx, other.incident_id)} == {"cancelled"}


# -- alert status ---------------------------------------------------------------------------------------------------
def test_status_shows_progress_toward_the_headcount_and_the_next_step(cli: Cli, sqlite_ctx: AppContext,
                                                                      flood: Outcome, clock: FakeClock,
                                                                      gateway: FakeGateway) -> None:
    incident = flood.incident_id
    clock.set(T0 + timedelta(minutes=3))
    assert cli("alert", "ack", str(incident), "--person", PERSON, "--by", "李乙").exit_code == 0
    sms_phone = recipient(sqlite_ctx, incident, SMS_CONFIRMS).phone
    assert handle_inbound(sqlite_ctx, sms_phone, "+8617400000001", "收到", "SM1").outcome == "confirmed"
    clock.set(T0 + timedelta(minutes=12))
    run_due(sqlite_ctx)  # the resend at 10 minutes: it fails for R005 again
    dispatch(sqlite_ctx, gateway)

    result = cli("alert", "status", str(incident), "--json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    groups = {g["group"]: g for g in status["groups"]}
    rescue, office = groups["rescue"], groups["office"]
    rescue_team = next(t for t in raw_plan()["resources"]["teams"] if t.get("group") == "rescue")
    assert (rescue["called"], rescue["confirmed"], rescue["required"]) == (14, 1, rescue_team["headcount"])
    assert rescue["unreachable"] == [raw_roster()[UNREACHABLE].name]
    assert raw_roster()[SMS_CONFIRMS].name not in rescue["not_confirmed"] and len(rescue["not_confirmed"]) == 13
    assert (office["called"], office["confirmed"], office["required"]) == (4, 1, None)
    assert office["not_confirmed"] == [raw_roster()[p].name for p in ("O001", "O002", "O004")]
    medical_team = next(t for t in raw_plan()["resources"]["teams"] if t.get("group") == "medical")
    assert (groups["medical"]["required"], groups["medical"]["confirmed"]) == (medical_team["headcount"], 0)
    people = {p["person_id"]: p for p in status["people"]}
    assert people[PERSON]["confirmed_channel"] == "phone" and people[SMS_CONFIRMS]["confirmed_channel"] == "sms"
    voice_after = duration(raw_plan()["escalation_policy"][1]["steps"][1]["after"])
    assert status["next_step"]["action"] == "voice_call"
    assert status["next_step"]["due_at"] == (T0 + voice_after).isoformat()

    table = cli("alert", "status", str(incident))
    assert table.exit_code == 0, table.output
    row = cells(table.output, "(rescue)")
    assert row[0] == "抢险组 (rescue)" and row[1] == "14" and "1/12" in row
    assert row[-1] == raw_roster()[UNREACHABLE].name
    office_row = cells(table.output, "(office)")
    assert "—" in office_row and "、" not in office_row[-1]
    assert ", ".join(raw_roster()[p].name for p in ("O001", "O002", "O004")) in office_row
    assert f"next escalation: voice_call at {local(15)}" in table.output


def test_status_after_the_stand_down_has_no_next_step(cli: Cli, sqlite_ctx: AppContext, flood: Outcome) -> None:
    end_alert(sqlite_ctx, flood.incident_id, "水位回落", OFFICER)
    status = json.loads(cli("alert", "status", str(flood.incident_id), "--json").output)
    assert status["status"] == "ended" and status["next_step"] is None
    assert "next escalation" not in cli("alert", "status", str(flood.incident_id)).output
