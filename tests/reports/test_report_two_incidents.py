"""One report over the flood and drought incidents of one drill run: a rung that answered stops the
chain above it, and people called by both incidents at once are a plan gap."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from report_scenario import DEPUTY_ANSWERS, SEASON_START, TwoIncidents, new_context, play_two_incidents

from responder.app.reports import build_report
from responder.domain.clock import FakeClock
from responder.reports import ReportData
from responder.wiring import AppContext


@dataclass
class Played:
    ctx: AppContext
    run: TwoIncidents
    data: ReportData


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    clock = FakeClock(SEASON_START)
    ctx = new_context(tmp_path_factory.mktemp("two-incidents"), clock)
    run = play_two_incidents(ctx, clock)
    yield Played(ctx, run, build_report(ctx, [run.drought, run.flood]))
    ctx.engine.dispose()


def test_both_incidents_in_one_report(played: Played) -> None:
    data, run = played.data, played.run
    assert [i.id for i in data.incidents] == sorted([run.flood, run.drought])
    assert {i.hazard for i in data.incidents} == {"flood", "drought"}
    assert data.start == run.t0
    assert data.end == run.t0 + timedelta(minutes=45)
    assert {s.incident_id for s in data.level_spans} == {run.flood, run.drought}


def test_a_rung_that_answered_stops_the_one_above(played: Played) -> None:
    t0, flood = played.run.t0, played.run.flood
    steps = {(s.round, s.chain_step): s for s in played.data.steps if s.incident_id == flood and s.chain_step}
    deputy, head = steps[(0, "deputy_in_charge")], steps[(0, "township_head")]
    assert (deputy.status, deputy.done_at) == ("done", t0 + timedelta(minutes=30))
    assert (head.status, head.done_at, head.skip_reason) == ("skipped", t0 + timedelta(minutes=40), "rung answered")
    chain = [(c.chain_step, c.outcome) for c in played.data.chain if c.incident_id == flood
             and c.outcome != "cancelled"]
    assert chain == [("deputy_in_charge", "used"), ("township_head", "skipped")]
    c002 = next(p for p in played.data.people if p.incident_id == flood and p.person_id == "C002")
    assert c002.confirmed_at == t0 + DEPUTY_ANSWERS


def test_drought_steps_were_not_needed(played: Played) -> None:
    drought = played.run.drought
    ran = [s for s in played.data.steps if s.incident_id == drought and s.status != "cancelled"]
    assert ran and all(s.status == "skipped" and s.skip_reason == "all confirmed" for s in ran)
    groups = [g for g in played.data.groups if g.incident_id == drought]
    assert groups and all(g.rate == 1.0 for g in groups)
    assert all(g.first_confirmation == timedelta(minutes=1) for g in groups)  # raised 2 min after the flood


def test_people_called_by_both_incidents(played: Played) -> None:
    gaps = played.data.gaps
    both = {g.subject for g in gaps if g.kind == "two_incidents"}
    assert both == played.run.both
    assert ("shared_person", "C003") in {(g.kind, g.subject) for g in gaps}


def test_only_the_drill_incidents_given_are_counted(played: Played) -> None:
    alone = build_report(played.ctx, [played.run.flood])
    assert [i.id for i in alone.incidents] == [played.run.flood]
    # the overlap with the drought incident still shows: it is outside the report, but it happened
    assert {g.subject for g in alone.gaps if g.kind == "two_incidents"} == played.run.both
