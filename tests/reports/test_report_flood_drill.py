"""A flood drill with known behaviour gives known figures in the after-action report.

The drill runs through the real use cases (raise, dispatcher with the fake gateway, SMS replies through
the inbound path, escalation on a fake clock, stand-down); see report_scenario.py for who does what.
"""

from __future__ import annotations

import math
import statistics
from datetime import timedelta
from pathlib import Path

import pytest
from report_scenario import (
    END_AFTER,
    NOTE,
    SEASON_START,
    SILENT_GROUP,
    SLOW,
    UNREACHABLE,
    PlayedFlood,
    headcount,
    new_context,
    policy_steps,
    roster_names,
)

from responder.app.reports import build_report
from responder.domain.clock import FakeClock


@pytest.fixture
def played(flood_drill: PlayedFlood) -> PlayedFlood:
    return flood_drill


def nearest_rank(values: list[timedelta], q: float) -> timedelta:
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1]


def test_the_incident_and_its_level_history(played: PlayedFlood) -> None:
    data, t0 = played.data, played.drill.t0
    (incident,) = data.incidents
    assert incident.is_drill and data.is_drill
    assert incident.status == "ended" and incident.ended_at == t0 + END_AFTER
    assert [(c.kind, c.from_level, c.to_level, c.at) for c in incident.changes] == [
        ("raised", None, 2, t0), ("ended", 2, None, t0 + END_AFTER)]
    assert [(s.level, s.colour, s.start, s.end) for s in data.level_spans] == [(2, "orange", t0, t0 + END_AFTER)]
    assert data.timezone == "Asia/Shanghai" and data.language == "zh"
    assert (data.start, data.end) == (t0, t0 + END_AFTER)


def test_confirmation_figures_per_group(played: PlayedFlood) -> None:
    drill = played.drill
    groups = {g.group: g for g in played.data.groups}
    assert set(groups) == set(drill.called)
    for gid, members in drill.called.items():
        g = groups[gid]
        times = [drill.confirmed_at[p] for p in members if p in drill.confirmed_at]
        assert (g.called, g.confirmed) == (len(members), len(times)), gid
        assert g.called_at == drill.t0
        assert g.rate == pytest.approx(len(times) / len(members))
        assert g.first_confirmation == (min(times) if times else None), gid
        assert g.median == (timedelta(seconds=statistics.median(t.total_seconds() for t in times)) if times
                            else None), gid
        assert g.p90 == (nearest_rank(times, 0.9) if times else None), gid
        assert g.required == headcount(gid)
        if g.required is not None:
            expected = sorted(times)[g.required - 1] if len(times) >= g.required else None
            assert g.headcount_reached == expected, gid
        assert set(g.not_confirmed) == {roster_names()[p] for p in members if p not in drill.confirmed_at}


def test_the_silent_rescue_group(played: PlayedFlood) -> None:
    rescue = next(g for g in played.data.groups if g.group == SILENT_GROUP)
    assert rescue.called == len(played.drill.silent) == 14
    assert rescue.confirmed == 0 and rescue.rate == 0.0
    assert rescue.first_confirmation is None
    assert rescue.required == 12 and rescue.headcount_reached is None and rescue.reached_headcount is False
    medical = next(g for g in played.data.groups if g.group == "medical")
    assert medical.required == 14 and medical.headcount_reached == SLOW[1]  # the slow one completed it


def test_overall_rate(played: PlayedFlood) -> None:
    drill, overall = played.drill, played.data.overall
    people = set().union(*drill.called.values())
    assert overall.called == len(people) == 63
    assert overall.confirmed == len(drill.confirmed_at) == 48
    assert overall.rate == pytest.approx(48 / 63)
    assert overall.first_confirmation == min(drill.confirmed_at.values())


def test_escalation_steps_at_the_plan_times(played: PlayedFlood) -> None:
    t0, steps = played.drill.t0, played.data.steps
    policy = policy_steps(2)
    first_round = [s for s in steps if s.round == 0]
    assert [(s.action, s.chain_step, s.due_at, s.after) for s in first_round] == [
        (action, chain, t0 + after, after) for after, action, chain in policy]
    assert [s.after for s in first_round] == [timedelta(minutes=m) for m in (10, 15, 20, 25, 30, 40, 60)]
    assert all(s.status == "done" and s.done_at == s.due_at for s in first_round)
    resend, voice = first_round[0], first_round[1]
    assert resend.messages == len(played.drill.silent) + 2  # the rescue group, the unreachable one, the slow one
    assert voice.messages == len(played.drill.silent) + 1  # the slow one confirmed at 12 min
    second_round = [s for s in steps if s.round == 1]
    assert len(second_round) == len(policy)
    assert all(s.status == "cancelled" and s.done_at == t0 + END_AFTER for s in second_round)
    chain = [(c.chain_step, c.outcome, c.at) for c in played.data.chain if c.outcome != "cancelled"]
    assert chain == [("deputy_in_charge", "used", t0 + timedelta(minutes=30)),
                     ("township_head", "used", t0 + timedelta(minutes=40)),  # the deputy did not answer
                     ("county", "used", t0 + timedelta(minutes=60))]


def test_unreachable_never_answering_and_slow(played: PlayedFlood) -> None:
    data = played.data
    assert [p.person_id for p in data.unreachable] == [UNREACHABLE]
    assert data.unreachable[0].reached == 0 and data.unreachable[0].failed >= 1
    assert sorted(p.person_id for p in data.never_answered) == sorted(played.drill.silent)
    assert all(p.reached > 0 for p in data.never_answered)
    assert [(s.person_id, s.level, s.deadline, s.took) for s in data.slow] == [
        (SLOW[0], 2, timedelta(minutes=10), SLOW[1])]


def test_replies_that_were_not_confirmations(played: PlayedFlood) -> None:
    (reply,) = played.data.replies
    assert (reply.person_id, reply.body, reply.outcome) == (NOTE[0], NOTE[2], "note")
    assert reply.received_at == played.drill.t0 + NOTE[1]
    assert not [a for a in played.data.acks if not a.first]  # no escalation report was answered


def test_plan_gaps(played: PlayedFlood) -> None:
    found = {(g.kind, g.subject) for g in played.data.gaps}
    assert found == {("headcount_not_reached", "rescue"), ("shared_person", "C002"), ("shared_person", "C003")}


def test_english_names(played: PlayedFlood) -> None:
    data = build_report(played.ctx, [played.drill.incident_id], language="en")
    assert data.language == "en"
    assert next(g.name for g in data.groups if g.group == "rescue") == "rescue group"
    assert data.incidents[0].hazard_name == "flood"


def test_no_deputy_gap_from_the_roster_snapshot(tmp_path: Path) -> None:
    """A roster whose rescue group has no deputy: the report names the gap."""
    from report_scenario import REPO

    from responder.app.alerts import end_alert, raise_alert

    lines = (REPO / "contacts" / "roster.csv").read_text(encoding="utf-8").splitlines()
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join(line.replace("rescue:deputy", "rescue:member") for line in lines) + "\n",
                      encoding="utf-8")
    clock = FakeClock(SEASON_START)
    ctx = new_context(tmp_path, clock, roster)
    try:
        outcome = raise_alert(ctx, "flood", 2, "龙河水位超警戒线", "duty officer")
        clock.advance(timedelta(minutes=5))
        end_alert(ctx, outcome.incident_id, "false alarm", "duty officer")
        data = build_report(ctx, [outcome.incident_id])
    finally:
        ctx.engine.dispose()
    assert ("no_deputy", "rescue") in {(g.kind, g.subject) for g in data.gaps}
    assert not data.is_drill
