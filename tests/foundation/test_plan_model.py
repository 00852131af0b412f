"""The sample plan as validated data: what the township's plan says is in ``config/plan.yaml``."""

from __future__ import annotations

import pytest
from foundation_support import PLAN, REPO, ROSTER, Workspace

from responder.app.plan_check import check_plan
from responder.configfiles.plan_file import read_plan
from responder.configfiles.roster_csv import read_roster
from responder.configfiles.rota_csv import read_rota
from responder.domain.checks import check_all
from responder.domain.errors import InputError
from responder.domain.types import Role

PLAN_GROUPS = ["command", "rescue", "security", "medical", "technical", "survey", "communications", "power",
               "water_supply"]


@pytest.fixture(scope="module")
def plan():
    return read_plan(REPO / PLAN).plan


def test_area_languages_and_levels(plan) -> None:
    assert (plan.area.name["zh"], plan.area.timezone, plan.area.country) == ("三建乡", "Asia/Shanghai", "CN")
    assert plan.languages == ["zh", "en"]
    assert [(lv.level, lv.colour) for lv in sorted(plan.levels, key=lambda lv: -lv.level)] == [
        (4, "blue"), (3, "yellow"), (2, "orange"), (1, "red")]
    for level in plan.levels:
        for text in (level.name, level.colour_name, level.condition):
            assert set(text) == {"zh", "en"}
    assert plan.level(1).condition["zh"] == "上游出现溃坝洪水"


def test_groups_with_duties_in_both_languages(plan) -> None:
    assert set(PLAN_GROUPS) <= plan.group_ids
    for group in plan.groups:
        assert set(group.name) == set(group.duties) == {"zh", "en"}


def test_callout_matrix_follows_the_plan(plan) -> None:
    flood = plan.hazard("flood")
    assert flood is not None and plan.hazard("drought") is not None
    level2, level1 = flood.at(2), flood.at(1)
    assert level2 is not None and level1 is not None
    rescue = next(e for e in level2.groups if e.group == "rescue")
    assert rescue.task["en"] == "all rescue personnel go on site now and stand by"
    assert set(rescue.roles) == set(Role)
    assert level2.inform == ["deputy_in_charge"]
    office = next(e for e in level2.groups if e.group == "office")
    assert "deputy in charge (the township head if absent)" in office.task["en"]
    assert {e.group for e in level1.groups} == plan.group_ids, "level 1 is everyone, militia and volunteers too"
    assert level1.evacuation and not any(c.evacuation for c in flood.callout if c.level != 1)


def test_escalation_chain_zones_and_resources(plan) -> None:
    assert [s.id for s in plan.escalation_chain] == ["duty_office", "deputy_in_charge", "township_head", "county"]
    assert plan.escalation_chain[0].targets[0].duty_officer
    assert plan.escalation_chain[2].targets[0].group == "command"
    assert plan.escalation_chain[2].targets[0].role == Role.LEADER
    assert plan.escalation_chain[3].targets[0].external is not None
    assert set(plan.templates.callout) == {1, 2, 3, 4}
    assert [z.responsible for z in plan.evacuation_zones] == ["V101", "V201", "V301"]
    assert plan.resources.funds == 30000 and plan.resources.medical_staff == 14
    assert {t.id: t.headcount for t in plan.resources.teams}["villages"] == 80
    assert plan.duty.season.dates(2027)[0].isoformat() == "2027-06-01"


def test_the_python_api_finds_no_problem_in_the_sample(plan, sqlite_ctx) -> None:
    roster_file = read_roster(REPO / ROSTER, plan.area.country)
    rota = read_rota(REPO / plan.duty.rota_file, plan.area.zone)
    assert roster_file.problems == []
    assert check_all(plan, roster_file.roster, rota, sqlite_ctx.clock.now()) == []
    report = check_plan(sqlite_ctx)
    assert (report.problems, report.people) == ([], 104)


def test_reading_a_broken_plan_raises_one_located_problem(workspace: Workspace) -> None:
    line = workspace.edit(PLAN, "  - id: survey\n", "  - id: Survey\n")
    with pytest.raises(InputError) as caught:
        read_plan(workspace.path(PLAN))
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(workspace.path(PLAN)), line, "groups.6.id")
    assert "pattern" in problem.message
