"""The escalation schedule: the plan's steps at the plan's times for each level, bounded repeats, stored when the
level is declared and replaced when it changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alerts_support import raw_plan
from escalation_support import OFFICER, REASON, T0, duration, expected_schedule, steps_of
from pydantic import ValidationError

from responder.app.alerts import change_level, end_alert, raise_alert
from responder.app.escalation import run_due
from responder.domain.clock import FakeClock
from responder.domain.escalation import Pending, first_due, previous_chain_step, schedule, targets
from responder.domain.plan import LevelPolicy, Plan
from responder.wiring import AppContext


@pytest.fixture
def plan(sqlite_ctx: AppContext) -> Plan:
    return sqlite_ctx.plan


@pytest.mark.parametrize("level", [1, 2, 3])
def test_steps_fall_due_at_the_plans_times(plan: Plan, level: int) -> None:
    planned = schedule(plan, level, T0)
    wanted = expected_schedule(raw_plan(), level)
    assert [(s.round, s.step_index, s.action, s.chain_step, s.due_at - T0) for s in planned] == wanted
    assert all(s.level == level for s in planned)


def test_the_level_2_schedule_in_minutes(plan: Plan) -> None:
    """Written out once by hand: the orange level's ladder of the issue (10, 15, 20, 25, 30, 40, 60 minutes)."""
    first = [s for s in schedule(plan, 2, T0) if s.round == 0]
    assert [(int((s.due_at - T0).total_seconds() // 60), s.action, s.chain_step) for s in first] == [
        (10, "resend_sms", None), (15, "voice_call", None), (20, "notify_group_deputy", None),
        (25, "notify_group_leader", None), (30, "notify_chain", "deputy_in_charge"),
        (40, "notify_chain", "township_head"), (60, "notify_chain", "county")]


def test_level_4_has_no_steps(plan: Plan) -> None:
    assert schedule(plan, 4, T0) == []
    assert plan.policy(4) is not None and plan.policy(4).confirm_within is None  # type: ignore[union-attr]


@pytest.mark.parametrize("level", [1, 2, 3])
def test_repeats_are_bounded(plan: Plan, level: int) -> None:
    raw = next(p for p in raw_plan()["escalation_policy"] if p["level"] == level)
    planned = schedule(plan, level, T0)
    rounds = raw.get("repeat", 0) + 1
    assert len(planned) == rounds * len(raw["steps"])
    assert sorted({s.round for s in planned}) == list(range(rounds))
    if rounds > 1:
        every = duration(raw["repeat_every"])
        first = [s.due_at for s in planned if s.round == 0]
        second = [s.due_at for s in planned if s.round == 1]
        assert [b - a for a, b in zip(first, second, strict=True)] == [every] * len(first)


def test_the_plan_refuses_unbounded_repeats() -> None:
    with pytest.raises(ValidationError):
        LevelPolicy.model_validate({"level": 2, "steps": [{"after": "1m", "action": "resend_sms"}], "repeat": 6})
    assert LevelPolicy.model_validate({"level": 2, "repeat": 5}).repeat == 5


def test_durations_in_seconds_are_accepted() -> None:
    """The restart test's plan copy has steps seconds apart."""
    p = LevelPolicy.model_validate({"level": 2, "confirm_within": "2s", "steps": [
        {"after": "2s", "action": "resend_sms"}, {"after": "4s", "action": "voice_call"},
        {"after": "1m30s", "action": "notify_group_deputy"}]})
    assert [s.after for s in p.steps] == [timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=90)]
    assert p.confirm_within == timedelta(seconds=2)


def test_the_head_is_told_only_after_the_deputy_in_charge(plan: Plan) -> None:
    steps = plan.policy(2).steps  # type: ignore[union-attr]
    index = {s.chain_step: i for i, s in enumerate(steps) if s.action == "notify_chain"}
    assert previous_chain_step(plan, 2, index["township_head"]) == "deputy_in_charge"
    assert previous_chain_step(plan, 2, index["county"]) == "township_head"
    assert previous_chain_step(plan, 2, index["deputy_in_charge"]) is None


def test_reminders_go_only_to_called_group_members_who_have_not_confirmed() -> None:
    unconfirmed = [Pending("R002", "李癸", ("rescue",)), Pending("C002", "李己", ("command", "rescue")),
                   Pending("ext:+8617400009999", "县防汛办值班室", ())]
    assert targets("resend_sms", unconfirmed).reminders == ["R002", "C002"]
    assert targets("voice_call", unconfirmed).reminders == ["R002", "C002"]
    reports = targets("notify_group_deputy", unconfirmed).group_reports
    assert {g: [p.person_id for p in ps] for g, ps in reports.items()} == {"rescue": ["R002", "C002"],
                                                                           "command": ["C002"]}
    assert [p.person_id for p in targets("notify_chain", unconfirmed).chain_report] == [p.person_id
                                                                                        for p in unconfirmed]
    assert targets("resend_sms", []).reminders == []


def test_first_due_skips_what_is_done(plan: Plan) -> None:
    planned = schedule(plan, 2, T0)
    assert first_due(planned, {}) == planned[0]
    done = {(2, 0, 0): True, (2, 0, 1): True}
    assert first_due(planned, done) == planned[2]
    assert first_due(planned, {(s.level, s.round, s.step_index): True for s in planned}) is None


# -- stored ---------------------------------------------------------------------------------------------------------
def test_raising_stores_the_schedule_from_the_call_out(ctx: AppContext, clock: FakeClock) -> None:
    assert clock.now() == T0
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    rows = steps_of(ctx, raised.incident_id)
    wanted = expected_schedule(raw_plan(), 2)
    assert sorted((r.round, r.step_index, r.action, r.chain_step, r.due_at - clock.now()) for r in rows) == wanted
    assert {(r.status, r.level) for r in rows} == {("pending", 2)}

    level4 = raise_alert(ctx, "drought", 4, "连续20天无有效降雨", OFFICER)
    assert steps_of(ctx, level4.incident_id) == []


def test_a_level_change_replaces_the_schedule_from_the_change(ctx: AppContext, clock: FakeClock) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    clock.advance(timedelta(minutes=12))
    assert [o.action for o in run_due(ctx)] == ["resend_sms"]
    changed_at = clock.advance(timedelta(minutes=1))
    change_level(ctx, raised.incident_id, 1, "上游水库溃坝", OFFICER)

    rows = steps_of(ctx, raised.incident_id)
    old = [r for r in rows if r.level == 2]
    assert [r.status for r in old if r.action == "resend_sms" and r.round == 0] == ["done"]
    assert {(r.status, r.done_by) for r in old if not (r.action == "resend_sms" and r.round == 0)} == {
        ("cancelled", "level change")}
    new = [r for r in rows if r.level == 1]
    wanted = expected_schedule(raw_plan(), 1)
    assert sorted((r.round, r.step_index, r.action, r.chain_step, r.due_at - changed_at) for r in new) == wanted
    assert {r.status for r in new} == {"pending"}


def test_back_to_an_earlier_level_the_escalation_carries_on(ctx: AppContext, clock: FakeClock) -> None:
    """2 → 1 → 2: the level-2 steps not yet run are planned again from the second change (they were cancelled
    by the first); the one that ran does not run again."""
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    clock.advance(timedelta(minutes=12))
    assert [o.action for o in run_due(ctx)] == ["resend_sms"]
    clock.advance(timedelta(minutes=1))
    change_level(ctx, raised.incident_id, 1, "上游水库溃坝", OFFICER)
    clock.advance(timedelta(minutes=3))
    back_at = clock.now()
    change_level(ctx, raised.incident_id, 2, "水库险情已排除", OFFICER)

    rows = steps_of(ctx, raised.incident_id)
    assert {r.status for r in rows if r.level == 1} == {"cancelled"}
    level2 = {(r.round, r.step_index): r for r in rows if r.level == 2}
    resend = level2[(0, 0)]
    assert resend.status == "done" and resend.due_at == T0 + duration(raw_plan_step(2, 0)["after"])
    pending = sorted((r.round, r.step_index, r.due_at - back_at) for r in level2.values() if r.status == "pending")
    wanted = [(rnd, i, offset) for rnd, i, _, _, offset in expected_schedule(raw_plan(), 2) if (rnd, i) != (0, 0)]
    assert pending == wanted

    clock.set(back_at + timedelta(minutes=15))
    assert [o.action for o in run_due(ctx)] == ["voice_call"]


def raw_plan_step(level: int, index: int) -> dict[str, str]:
    return dict(next(p for p in raw_plan()["escalation_policy"] if p["level"] == level)["steps"][index])


def test_stand_down_cancels_every_pending_step(ctx: AppContext, clock: FakeClock) -> None:
    raised = raise_alert(ctx, "flood", 2, REASON, OFFICER)
    clock.advance(timedelta(minutes=10))
    run_due(ctx)
    end_alert(ctx, raised.incident_id, "水位回落", OFFICER)
    rows = steps_of(ctx, raised.incident_id)
    assert rows[0].status == "done"
    assert {(r.status, r.done_by) for r in rows[1:]} == {("cancelled", f"stand-down by {OFFICER}")}
    clock.advance(timedelta(days=1))
    assert run_due(ctx) == []
