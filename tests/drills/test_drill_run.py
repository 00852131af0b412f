"""A scenario with known behaviour gives known figures; the same seed gives the same report.

tests/drills/data/rescue-silent.yaml: flood level 2 declared by the duty officer at 0h; everyone answers 2 minutes
after the SMS except the rescue group, which never does. C002 leads the rescue group and is also a command deputy and
the deputy commander in charge (the chain's second rung), so he never answers either: the chain goes on to the
township head (C001, who answers everything after 2 minutes), and the county is then not needed.
The expected figures come from config/plan.yaml and contacts/roster.csv, read here with PyYAML and csv.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from drill_support import (
    DATA,
    Played,
    audit,
    called_groups,
    context,
    headcount,
    incidents,
    members,
    name_of,
    outbox,
    play,
    policy,
    policy_steps,
    scenario_start,
    unmarked,
)
from sqlalchemy import select

from responder.app.reports import build_report
from responder.reports import ReportData
from responder.storage.models import EscalationStepRow, InboundMessageRow, RecipientRow

SILENT = DATA / "rescue-silent.yaml"
REPLY_AFTER = timedelta(minutes=2)
END_AFTER = timedelta(hours=1, minutes=5)
"""The scripted stand-down: after the first round of escalation (county at 60m), before the second (70m)."""
RESCUE = members("rescue")
T0 = scenario_start(SILENT)


@pytest.fixture(scope="module")
def silent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    played = play(SILENT, tmp_path_factory.mktemp("rescue-silent"))
    yield played
    played.ctx.engine.dispose()


@pytest.fixture(scope="module")
def report(silent: Played) -> ReportData:
    return build_report(silent.ctx, silent.incident_ids)


def test_the_drill_raised_one_flood_drill_and_stood_it_down(silent: Played) -> None:
    [incident] = incidents(silent.ctx)
    assert (incident.hazard, incident.level, incident.status, incident.is_drill) == ("flood", 2, "ended", True)
    assert incident.raised_at == T0 and incident.ended_at == T0 + END_AFTER
    assert silent.incident_ids == [incident.id]
    assert silent.outcome.html.is_file() and silent.outcome.markdown.is_file()
    assert not Path(silent.main_url.removeprefix("sqlite:///")).exists(), "the working folder's database untouched"


def test_rescue_never_confirms_every_group_without_rescue_people_confirms_all(report: ReportData) -> None:
    expected = called_groups("flood", 2)
    groups = {g.group: g for g in report.groups}
    assert set(groups) == set(expected)
    for gid, people in expected.items():
        g = groups[gid]
        assert g.called == len(people), gid
        silent = people & RESCUE
        assert g.confirmed == len(people - silent), gid
        assert set(g.not_confirmed) == {name_of(p) for p in silent}, gid
        if not silent:
            assert g.rate == 1.0 and g.first_confirmation == REPLY_AFTER and g.median == REPLY_AFTER, gid
    rescue = groups["rescue"]
    assert (rescue.called, rescue.confirmed, rescue.rate, rescue.first_confirmation) == (len(RESCUE), 0, 0.0, None)
    assert rescue.required == headcount("rescue") and rescue.reached_headcount is False
    # C002 is a command deputy too: the only one of the command group who never answers.
    assert groups["command"].not_confirmed == (name_of("C002"),)
    assert groups["command"].confirmed == len(expected["command"]) - 1


def test_everyone_else_confirmed_by_sms_exactly_two_minutes_after_the_call(report: ReportData, silent: Played) -> None:
    called = set().union(*called_groups("flood", 2).values())
    people = {p.person_id: p for p in report.people if p.called_out}
    assert set(people) == called
    for pid in called - RESCUE:
        assert people[pid].called_at == T0, pid
        assert people[pid].time_to_confirm == REPLY_AFTER and people[pid].confirmed_channel == "sms", pid
    assert {p.person_id for p in report.never_answered} == RESCUE
    assert report.unreachable == ()
    assert report.overall.called == len(called) and report.overall.confirmed == len(called - RESCUE)
    with silent.ctx.sessions() as session:
        senders = set(session.scalars(select(RecipientRow.person_id).join(
            InboundMessageRow, InboundMessageRow.from_number == RecipientRow.phone)))
    assert not senders & RESCUE, "nobody of the rescue group ever sent a reply"


def expected_round_one() -> list[tuple[timedelta, str, str | None, str, set[str]]]:
    """(after, action, chain step, status, who was told) for the plan's level-2 steps, with nobody of the rescue
    group answering: reminders to the 14 of them; the rescue deputy (R001) and the two other command deputies
    (C002 himself is the one missing in command) are told; then the leaders C002 (rescue) and C001 (command);
    the chain's deputy in charge (C002) never answers, so the township head (C001) is told; he answers within
    2 minutes, so the county is skipped."""
    reached = {
        "resend_sms": ("done", RESCUE),
        "voice_call": ("done", RESCUE),
        "notify_group_deputy": ("done", {"R001", "C003", "C004"}),
        "notify_group_leader": ("done", {"C002", "C001"}),
        "deputy_in_charge": ("done", {"C002"}),
        "township_head": ("done", {"C001"}),
        "county": ("skipped", set()),
    }
    return [(after, action, chain, *reached[chain or action]) for after, action, chain in policy_steps(2)]


def test_escalation_steps_ran_at_the_plans_level_two_times(silent: Played) -> None:
    expected = expected_round_one()
    assert [(a, act, c) for a, act, c, _, _ in expected][:5] == [
        (timedelta(minutes=10), "resend_sms", None), (timedelta(minutes=15), "voice_call", None),
        (timedelta(minutes=20), "notify_group_deputy", None), (timedelta(minutes=25), "notify_group_leader", None),
        (timedelta(minutes=30), "notify_chain", "deputy_in_charge")], "the plan changed: revisit this test"
    with silent.ctx.sessions() as session:
        steps = list(session.scalars(select(EscalationStepRow).order_by(EscalationStepRow.round,
                                                                        EscalationStepRow.step_index)))
    first = [s for s in steps if s.round == 0]
    assert [(s.level, s.action, s.chain_step) for s in first] == [(2, act, c) for _, act, c, _, _ in expected]
    for step, (after, action, _chain, status, told) in zip(first, expected, strict=True):
        assert step.due_at == T0 + after, action
        assert step.done_at == T0 + after, f"{action} ran at {step.done_at}, due {T0 + after}"
        assert step.status == status, (action, step.status, step.result)
        assert set(step.result["to"]) == told, action
    assert "township_head answered" in first[-1].result["detail"]
    # The second round (repeat: 1, an hour later) was cancelled by the stand-down before any of it fell due.
    again = [s for s in steps if s.round == 1]
    assert len(again) == len(expected) == len(first) and policy(2)["repeat"] == 1
    every = timedelta(hours=1)
    assert [s.due_at for s in again] == [T0 + every + after for after, *_ in expected]
    assert {(s.status, s.done_at) for s in again} == {("cancelled", T0 + END_AFTER)}
    assert all(s.done_by and s.done_by.startswith("stand-down") for s in again)


def test_the_audit_trail_shows_each_step_and_answer_at_its_simulated_time(silent: Played) -> None:
    [incident] = incidents(silent.ctx)
    events = audit(silent.ctx, incident.id)
    steps = [(e.at - T0, e.kind, e.evidence["action"], e.evidence["chain_step"]) for e in events
             if e.kind in ("escalation", "escalation_skipped")]
    assert steps == [(after, "escalation" if status == "done" else "escalation_skipped", action, chain)
                     for after, action, chain, status, _ in expected_round_one()]
    skipped = next(e for e in events if e.kind == "escalation_skipped")
    assert set(skipped.evidence["unconfirmed"]) == RESCUE
    kinds = [(e.at - T0, e.kind) for e in events if e.kind in ("raised", "ended")]
    assert kinds == [(timedelta(0), "raised"), (END_AFTER, "ended")]
    confirmed = {e.evidence["person"]: e.at - T0 for e in events if e.kind == "confirmed"}
    called = set().union(*called_groups("flood", 2).values())
    assert confirmed == dict.fromkeys(called - RESCUE, REPLY_AFTER)
    # The township head, told by the chain at 40m, acknowledged 2 minutes later: that is why the county was skipped.
    acks = [(e.evidence["person"], e.at - T0) for e in events if e.kind == "escalation_acknowledged"]
    assert ("C001", timedelta(minutes=42)) in acks
    assert not any(pid in RESCUE for pid, _ in acks)


def test_the_report_lists_the_steps_and_the_chain_used(report: ReportData) -> None:
    first = [s for s in report.steps if s.round == 0]
    assert [(s.after, s.action, s.chain_step, s.status, s.done_at) for s in first] == [
        (after, action, chain, status, T0 + after) for after, action, chain, status, _ in expected_round_one()]
    chain = [(c.chain_step, c.outcome, c.at) for c in report.chain if c.at is not None and c.at < T0 + END_AFTER]
    assert chain == [("deputy_in_charge", "used", T0 + timedelta(minutes=30)),
                     ("township_head", "used", T0 + timedelta(minutes=40)),
                     ("county", "skipped", T0 + timedelta(minutes=60))]
    gaps = {(g.kind, g.subject) for g in report.gaps}
    assert ("headcount_not_reached", "rescue") in gaps
    assert ("shared_person", "C002") in gaps, "the rescue leader is also a command deputy"


def test_every_message_of_the_drill_is_marked(silent: Played) -> None:
    rows = outbox(silent.ctx)
    assert rows and unmarked(rows) == []
    assert {r.language for r in rows} == {"zh", "en"}


# -- the same seed, the same report ---------------------------------------------------------------------------------
RANDOM = DATA / "random-people.yaml"


def test_the_same_seed_gives_the_same_report_and_another_seed_other_figures(tmp_path: Path) -> None:
    a = play(RANDOM, tmp_path / "a")
    b = play(RANDOM, tmp_path / "b")
    other = tmp_path / "other"
    other.mkdir()
    changed = other / RANDOM.name  # the same name, so that only the seed differs
    changed.write_text(RANDOM.read_text(encoding="utf-8").replace("seed: 11", "seed: 12"), encoding="utf-8")
    assert changed.read_text(encoding="utf-8") != RANDOM.read_text(encoding="utf-8")
    c = play(changed, tmp_path / "c")
    try:
        assert a.outcome.html.parent != b.outcome.html.parent
        assert a.outcome.html.read_bytes() == b.outcome.html.read_bytes()
        assert a.outcome.markdown.read_bytes() == b.outcome.markdown.read_bytes()
        chart = a.outcome.markdown.with_suffix(".png")
        assert chart.read_bytes() == b.outcome.markdown.with_suffix(".png").read_bytes()

        def figures(played: Played) -> list[tuple[str, object]]:
            data = build_report(played.ctx, played.incident_ids)
            return sorted((p.person_id, p.time_to_confirm) for p in data.people)

        assert figures(a) == figures(b)
        assert figures(a) != figures(c)
        assert a.outcome.markdown.read_bytes() != c.outcome.markdown.read_bytes()
    finally:
        for played in (a, b, c):
            played.ctx.engine.dispose()


# -- voice only, unreachable ----------------------------------------------------------------------------------------
VOICE = DATA / "voice-and-unreachable.yaml"


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    played = play(VOICE, tmp_path_factory.mktemp("voice-and-unreachable"))
    yield played
    played.ctx.engine.dispose()


def test_voice_only_people_confirm_on_the_call_and_dead_numbers_show_as_unreachable(voice: Played) -> None:
    t0 = scenario_start(VOICE)
    data = build_report(voice.ctx, voice.incident_ids)
    people = {p.person_id: p for p in data.people}
    voice_after = next(after for after, action, _ in policy_steps(3) if action == "voice_call")
    t001 = people["T001"]
    assert t001.confirmed_channel == "voice" and t001.confirmed_at is not None
    assert t0 + voice_after <= t001.confirmed_at < t0 + voice_after + timedelta(minutes=1)
    o003 = people["O003"]
    assert o003.confirmed_at is None and o003.reached == 0 and o003.failed > 0
    assert [p.person_id for p in data.unreachable] == ["O003"]
    assert "O003" not in {p.person_id for p in data.never_answered}
    called = set().union(*called_groups("flood", 3).values())
    assert {p for p in called - {"T001", "O003"} if people[p].time_to_confirm != timedelta(minutes=1)} == set()
    rows = outbox(voice.ctx)
    assert {r.status for r in rows if r.person_id == "O003"} == {"failed"}
    assert unmarked([r for r in rows if r.incident_id is not None]) == []


def test_stale_feed_alarms_of_a_drill_are_marked_too(voice: Played) -> None:
    """This scenario has no readings at all: every station goes stale and the duty officer is told."""
    alarms = [r for r in outbox(voice.ctx) if r.kind == "stale_feed"]
    assert alarms
    assert unmarked(alarms) == []


def test_an_interrupted_drill_keeps_what_it_did_in_its_database(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The drill works on an in-memory copy: Ctrl-C half-way must still leave the database file behind."""
    from responder.drills.runner import DrillRunner

    handle = DrillRunner._handle
    seen: list[str] = []

    def interrupted(self: DrillRunner, event: object) -> None:
        handle(self, event)  # type: ignore[arg-type]
        seen.append(event.kind)  # type: ignore[attr-defined]
        if seen.count("check") == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(DrillRunner, "_handle", interrupted)
    with pytest.raises(KeyboardInterrupt):
        play(SILENT, tmp_path)
    monkeypatch.undo()
    ctx = context(f"sqlite:///{tmp_path / 'out' / 'rescue-silent.db'}", T0)
    try:
        [incident] = incidents(ctx)
        assert (incident.is_drill, incident.status) == (True, "open")  # raised at 0h, the stand-down never came
        assert outbox(ctx)
    finally:
        ctx.engine.dispose()


def test_drill_run_seed_replays_the_scenario_with_another_seed(tmp_path: Path) -> None:
    """``--seed`` was missing: a scenario's seed could only be varied by editing the file."""
    from drill_support import cli, global_options

    runs: dict[str, str] = {}
    with cli(tmp_path / "cwd") as run:
        for label, extra in (("own", ()), ("eleven", ("--seed", "11")), ("twelve", ("--seed", "12"))):
            result = run(*global_options(f"sqlite:///{tmp_path / 'main.db'}"), "drill", "run", str(RANDOM),
                         "--out", str(tmp_path / label), "--quiet", *extra)
            assert result.exit_code == 0, result.output
            runs[label] = (tmp_path / label / "random-people.md").read_text(encoding="utf-8")
    assert runs["own"] == runs["eleven"], "the scenario's own seed is 11"
    assert runs["twelve"] != runs["eleven"]
