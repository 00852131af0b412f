"""Upgrade, downgrade and stand-down: who is called, who is told, with which text; the snapshot rules."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_support import (
    COUNTY,
    REASON,
    ROSTER,
    audit_kinds,
    evacuation_people,
    expected_people,
    outbox,
    row_counts,
)
from sqlalchemy import select

from responder.app.alerts import change_level, end_alert, raise_alert
from responder.app.contacts import import_contacts
from responder.domain.clock import FakeClock
from responder.domain.errors import Conflict, InputError, NotFound
from responder.gateways.base import PermanentError
from responder.gateways.fake import FakeGateway
from responder.storage.models import EscalationStepRow, IncidentRow, OutboxRow, RecipientRow
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher

UPGRADE_REASON = "上游水库溃坝"


def new_rows(ctx: AppContext, incident_id: int, after: int) -> list[OutboxRow]:
    return [r for r in outbox(ctx, incident_id) if r.id > after]


def kinds_by_person(rows: list[OutboxRow]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in rows:
        assert r.person_id is not None
        out.setdefault(r.person_id, set()).add(r.kind)
    return out


def test_upgrade_calls_the_newly_required_and_tells_those_already_called(ctx: AppContext) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, "tester")
    last = max(r.id for r in outbox(ctx, raised.incident_id))
    ctx.clock.advance(timedelta(minutes=12))  # type: ignore[attr-defined]

    outcome = change_level(ctx, raised.incident_id, 1, UPGRADE_REASON, "tester")
    rows = new_rows(ctx, raised.incident_id, last)
    level2, level1 = expected_people("flood", 2), expected_people("flood", 1)
    newly = level1 - level2
    assert newly == {p for p in level1 if p.startswith(("L", "V"))} | {"Y003"}, "militia, volunteers, survey members"

    by_kind = Counter(r.kind for r in rows)
    assert by_kind == {"callout": len(newly), "upgrade": len(level2), "evacuation": len(evacuation_people()),
                       "inform_chain": 1}
    assert {r.person_id for r in rows if r.kind == "callout"} == newly
    assert {r.person_id for r in rows if r.kind == "upgrade"} == level2
    assert {r.person_id for r in rows if r.kind == "evacuation"} == evacuation_people() == {"V101", "V201", "V301",
                                                                                             "V401"}
    # The chain: the deputy in charge (C002) and the township head (C001) already have tasks; the county is new.
    [county] = [r for r in rows if r.kind == "inform_chain"]
    assert (county.person_id, county.to_number) == (COUNTY, "+8617400009999")
    assert "报告：洪涝红色预警1级" in county.body and UPGRADE_REASON in county.body

    texts = {r.person_id: r.body for r in rows if r.kind in ("callout", "upgrade")}
    assert "红色预警（1级·严重）" in texts["L001"] and "全体民兵到指挥部集合，参加抢险" in texts["L001"]
    assert f"回复 1 {raised.code} 确认" in texts["L001"], "the code stays the incident's"
    assert "洪涝预警由2级升至红色1级" in texts["R002"] and "立即组织撤离疏散、断电、救援受灾群众" in texts["R002"]
    assert "raised from level 2 to red level 1" in texts["T004"]
    assert (outcome.level, outcome.status, outcome.recipients) == (1, "upgraded from 2", len(level1) + 1)
    assert outcome.messages == len(rows)
    assert audit_kinds(ctx, raised.incident_id) == ["raised", "upgraded"]

    with ctx.sessions() as session:
        incident = session.get(IncidentRow, raised.incident_id)
        assert incident is not None and incident.level == 1
        recipients = {r.person_id: r for r in session.scalars(
            select(RecipientRow).where(RecipientRow.incident_id == raised.incident_id))}
        steps = Counter((s.level, s.status) for s in session.scalars(
            select(EscalationStepRow).where(EscalationStepRow.incident_id == raised.incident_id)))
    assert set(recipients) == level1 | {COUNTY}
    assert recipients["L001"].called_level == 1 and recipients["L001"].called_at == ctx.clock.now()
    assert recipients["R002"].called_at < ctx.clock.now(), "called when the level-2 call-out went"
    assert {a.get("zone") for a in recipients["V301"].assignments} >= {"schools"}
    assert steps[(2, "pending")] == 0 and steps[(2, "cancelled")] == 14, "level 2's schedule is dropped"
    assert steps[(1, "pending")] == 14


def test_downgrade_tells_everyone_called_and_releases_those_no_longer_needed(ctx: AppContext) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, "tester")
    last = max(r.id for r in outbox(ctx, raised.incident_id))
    outcome = change_level(ctx, raised.incident_id, 3, "水位回落至警戒线以下", "tester")
    rows = new_rows(ctx, raised.incident_id, last)

    level2, level3 = expected_people("flood", 2), expected_people("flood", 3)
    assert level3 < level2
    assert kinds_by_person(rows) == {**{p: {"downgrade"} for p in level3}, **{p: {"released"} for p in level2 - level3}}
    assert len(rows) == len(level2) == outcome.messages, "one message each, to everyone already called"
    text = {r.person_id: r.body for r in rows}
    assert "洪涝预警由2级降为黄色3级" in text["C001"] and "会商研判，部署防汛准备" in text["C001"]
    assert "预警降为黄色3级" in text["R002"] and "可解除待命" in text["R002"]
    assert "Your group may stand down" in text["K006"]
    assert audit_kinds(ctx, raised.incident_id) == ["raised", "downgraded"]

    # Back down from 1 to 2 after an upgrade: the county and the militia are released as well.
    change_level(ctx, raised.incident_id, 1, UPGRADE_REASON, "tester")
    last = max(r.id for r in outbox(ctx, raised.incident_id))
    change_level(ctx, raised.incident_id, 2, "水位回落", "tester")
    rows = new_rows(ctx, raised.incident_id, last)
    everyone = expected_people("flood", 1) | {COUNTY}
    assert {r.person_id for r in rows} == everyone and len(rows) == len(everyone)
    assert {r.person_id for r in rows if r.kind == "released"} == everyone - level2


def write_roster(path: Path, edit: dict[str, dict[str, str]], extra: list[dict[str, str]]) -> Path:
    with ROSTER.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row.update(edit.get(row["id"], {}))
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows + extra)
    return path


def test_roster_edits_after_the_raise_do_not_change_the_incident_in_flight(ctx: AppContext, tmp_path: Path) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, "tester")
    edited = write_roster(tmp_path / "roster.csv",
                          {"L001": {"phone": "+86 174 0099 0001"}, "W003": {"language": "en"},
                           "C001": {"groups": "command:member"}},
                          [{"id": "L011", "name": "新民兵", "phone": "+86 174 0099 0002", "groups": "militia:member",
                            "village": "鱼泉子", "language": "zh"}])
    diff = import_contacts(ctx, edited)
    assert len(diff.added) == 1 and len(diff.changed) == 3

    last = max(r.id for r in outbox(ctx, raised.incident_id))
    change_level(ctx, raised.incident_id, 1, UPGRADE_REASON, "tester")
    rows = {r.person_id: r for r in new_rows(ctx, raised.incident_id, last) if r.kind in ("callout", "upgrade")}
    assert "L011" not in rows, "someone added after the raise is not in the incident's roster"
    assert rows["L001"].to_number == "+8617400514735", "the number in force when the alert was raised"
    assert rows["W003"].language == "zh" and "洪涝预警由2级升至红色1级" in rows["W003"].body
    # C001 is still the township head in the snapshot: already told by their own call-out, no chain report.
    assert not [r for r in new_rows(ctx, raised.incident_id, last) if r.kind == "inform_chain" and
                r.person_id == "C001"]

    # A new incident uses the roster in force now.
    drought = raise_alert(ctx, "drought", 1, "连续40天无有效降雨", "tester")
    called = {r.person_id: r for r in outbox(ctx, drought.incident_id)}
    assert "L011" in called and called["L001"].to_number == "+8617400990001"
    assert called["W003"].language == "en" and "Your task" in called["W003"].body


def test_end_cancels_unsent_tells_only_those_told_and_refuses_a_second_end(ctx: AppContext) -> None:
    clock = ctx.clock
    assert isinstance(clock, FakeClock)
    raised = raise_alert(ctx, "flood", 2, REASON, "tester")
    gateway = FakeGateway(clock=clock)
    dispatcher = Dispatcher(ctx, gateway, concurrency=1)
    claimed = dispatcher.claim(limit=13)
    gateway.fail_numbers({claimed[0].to: PermanentError("invalid number", code="21211")})
    for item in claimed[:11]:
        dispatcher.send(item)
    # 10 sent, 1 failed at once, 2 handed to a worker ('sending': they may have gone out), 50 pending.
    status = Counter(r.status for r in outbox(ctx, raised.incident_id))
    assert status == {"sent": 10, "failed": 1, "sending": 2, "pending": 50}
    told = {r.person_id for r in outbox(ctx, raised.incident_id) if r.status in ("sent", "sending")}

    clock.advance(timedelta(minutes=5))
    last = max(r.id for r in outbox(ctx, raised.incident_id))
    outcome = end_alert(ctx, raised.incident_id, "洪水退去", "tester")
    assert (outcome.status, outcome.cancelled, outcome.messages) == ("ended", 50, 12)
    rows = outbox(ctx, raised.incident_id)
    standdown = [r for r in rows if r.id > last]
    assert {r.kind for r in standdown} == {"standdown"} and {r.person_id for r in standdown} == told
    assert all(f"应急结束（{raised.code}）" in r.body and "洪水退去" in r.body for r in standdown if r.language == "zh")
    assert Counter(r.status for r in rows if r.id <= last) == {"sent": 10, "failed": 1, "sending": 2,
                                                               "cancelled": 50}
    assert audit_kinds(ctx, raised.incident_id) == ["raised", "ended"]
    with ctx.sessions() as session:
        incident = session.get(IncidentRow, raised.incident_id)
        assert incident is not None
        assert (incident.status, incident.ended_at, incident.open_key) == ("ended", clock.now(), None)
        pending_steps = session.scalars(select(EscalationStepRow).where(
            EscalationStepRow.incident_id == raised.incident_id, EscalationStepRow.status == "pending")).all()
    assert pending_steps == []

    before = row_counts(ctx)
    with pytest.raises(Conflict, match=rf"incident #{raised.incident_id} \({raised.code}\) has already ended"):
        end_alert(ctx, raised.incident_id, "again", "tester")
    with pytest.raises(Conflict, match="has already ended"):
        change_level(ctx, raised.incident_id, 1, "again", "tester")
    assert row_counts(ctx) == before

    # The hazard is free again.
    assert raise_alert(ctx, "flood", 3, "再次降雨", "tester").incident_id != raised.incident_id


def test_unknown_incident_and_same_level_are_refused_and_nothing_is_written(ctx: AppContext) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, "tester")
    before = row_counts(ctx)
    with pytest.raises(NotFound, match="no incident #999"):
        change_level(ctx, 999, 1, "x", "tester")
    with pytest.raises(NotFound, match="no incident #999"):
        end_alert(ctx, 999, "x", "tester")
    with pytest.raises(InputError, match="already at level 2"):
        change_level(ctx, raised.incident_id, 2, "x", "tester")
    with pytest.raises(InputError, match="unknown level 5"):
        change_level(ctx, raised.incident_id, 5, "x", "tester")
    with pytest.raises(InputError, match="URL"):
        change_level(ctx, raised.incident_id, 1, "see https://example.cn/x", "tester")
    assert row_counts(ctx) == before


def test_people_released_by_a_downgrade_are_not_reminded_of_the_task_they_dropped(ctx: AppContext) -> None:
    from responder.app.escalation import run_due

    clock = ctx.clock
    assert isinstance(clock, FakeClock)
    raised = raise_alert(ctx, "flood", 2, REASON, "tester")
    change_level(ctx, raised.incident_id, 3, "水位回落至警戒线以下", "tester")
    level2, level3 = expected_people("flood", 2), expected_people("flood", 3)
    with ctx.sessions() as session:
        recipients = {r.person_id: r for r in session.scalars(
            select(RecipientRow).where(RecipientRow.incident_id == raised.incident_id))}
    assert set(recipients) == level2, "still recipients: they were told, and may still reply"
    assert all(not any(a.get("group") for a in recipients[p].assignments) for p in level2 - level3)
    assert all(any(a.get("group") for a in recipients[p].assignments) for p in level3)

    clock.advance(timedelta(minutes=31))  # level 3's first step: re-send to whoever has not confirmed
    [step] = run_due(ctx)
    assert (step.action, step.messages) == ("resend_sms", len(level3))
    resent = [r for r in outbox(ctx, raised.incident_id) if r.kind == "resend"]
    assert {r.person_id for r in resent} == level3
    assert all("黄色预警（3级·较重）" in r.body for r in resent if r.language == "zh")

    # Called again by a later upgrade: the released are told their new task.
    last = max(r.id for r in outbox(ctx, raised.incident_id))
    change_level(ctx, raised.incident_id, 1, UPGRADE_REASON, "tester")
    again = {r.person_id: r for r in new_rows(ctx, raised.incident_id, last) if r.kind == "upgrade"}
    assert "R002" in again and "立即组织撤离疏散、断电、救援受灾群众" in again["R002"].body
