"""A bad scenario is a located error (file, line, field) before anything runs: no drill database, no report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from drill_support import PLAN, ROSTER, cli, global_options

from responder.configfiles.plan_file import read_plan
from responder.configfiles.roster_csv import validate_roster_file
from responder.configfiles.scenario_file import read_scenario
from responder.domain.errors import InputError
from responder.domain.plan import Plan
from responder.domain.roster import Roster

HEAD = """\
name: {zh: 坏输入, en: bad input}
start: "2027-07-10 09:00"
duration: 3h
"""
"""Lines 1-3 of every case; the case's own text starts on line 4."""


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    line: int
    field: str | None
    message: str


CASES = [
    Case("unknown station", """\
series:
  - kind: storm
    station: rain-nowhere
    start: 0h
    duration: 2h
    total_mm: 50
""", 6, "series.0.station", "unknown station 'rain-nowhere'"),
    Case("unknown rain station of a river", """\
series:
  - kind: river
    station: longhe-town
    base: 2.3
    rain_station: rain-atlantis
""", 8, "series.0.rain_station", "unknown station 'rain-atlantis'"),
    Case("unknown person", """\
people:
  persons:
    T004: {unreachable: true}
    X999: {never_reply: 1.0}
""", 7, "people.persons.X999", "unknown person 'X999'"),
    Case("unknown group", """\
people:
  groups:
    rescue: {never_reply: 0.1}
    divers: {never_reply: 1.0}
""", 7, "people.groups.divers", "unknown group 'divers'"),
    Case("listed values out of order", """\
series:
  - kind: listed
    station: longhe-town
    every: 15m
    values:
      - {at: 0h, value: 3.0}
      - {at: 2h, value: 3.5}
      - {at: 1h, value: 4.0}
""", 8, "series.0.listed.values", "times out of order"),
    Case("negative storm total", """\
series:
  - kind: storm
    station: rain-caisenba
    start: 0h
    duration: 2h
    total_mm: -10
""", 9, "series.0.storm.total_mm", "greater than or equal to 0"),
    Case("negative listed rainfall", """\
series:
  - kind: listed
    station: rain-caisenba
    rain: totals
    per: 1h
    values:
      - {at: 1h, value: 0}
      - {at: 2h, value: -2.5}
""", 11, "series.0.values.1.value", "negative rainfall -2.5"),
    Case("listed rain that does not say what it is", """\
series:
  - kind: listed
    station: rain-caisenba
    values:
      - {at: 1h, value: 12.5}
""", 7, "series.0.values", "say what these rain values are: `rain: totals`"),
    Case("a total whose hour starts before the drill", """\
series:
  - kind: listed
    station: rain-caisenba
    rain: totals
    per: 1h
    values:
      - {at: 0h, value: 12.5}
      - {at: 1h, value: 3}
""", 10, "series.0.values.0.at", "starts before the drill"),
    Case("listed totals that overlap", """\
series:
  - kind: listed
    station: rain-caisenba
    rain: totals
    per: 1h
    values:
      - {at: 1h, value: 12.5}
      - {at: 1h30m, value: 3}
""", 11, "series.0.values.1.at", "would be counted twice"),
    Case("a total after the end of the drill", """\
series:
  - kind: listed
    station: rain-caisenba
    rain: intensity
    per: 1h
    values:
      - {at: 4h, value: 12.5}
""", 10, "series.0.values.0.at", "after the end of the drill"),
    Case("rain on a river gauge", """\
series:
  - kind: listed
    station: longhe-town
    rain: totals
    per: 1h
    values:
      - {at: 1h, value: 3.2}
""", 7, "series.0.rain", "rain: is for a rain gauge's values"),
    Case("per without rain", """\
series:
  - kind: listed
    station: rain-caisenba
    per: 1h
    values:
      - {at: 1h, value: 3.2}
""", 5, "series.0.listed", "per is for rain"),
    Case("action after the end", """\
actions:
  - {at: 1h, do: raise, level: 3, reason: test}
  - {at: 4h, do: end, reason: over}
""", 6, "actions.1.at", "after the end of the drill"),
    Case("actions out of order", """\
actions:
  - {at: 2h, do: raise, level: 3, reason: test}
  - {at: 1h, do: end, reason: over}
""", 6, "actions.1.at", "times out of order"),
    Case("unknown hazard", """\
actions:
  - {at: 1h, do: raise, hazard: landslide, level: 3, reason: test}
""", 5, "actions.0.hazard", "unknown hazard 'landslide'"),
    Case("malformed YAML", """\
actions:
  - {at: 1h, do: raise, level: 3, reason: test
people: [
""", 6, None, "malformed YAML"),
    Case("unknown key", """\
actons:
  - {at: 1h, do: raise, level: 3, reason: test}
""", 4, "actons", "unknown key 'actons'"),
    Case("misspelt key in a series", """\
series:
  - kind: storm
    station: rain-caisenba
    start: 0h
    duration: 2h
    totl_mm: 50
""", 9, "series.0.storm.totl_mm", "unknown key 'totl_mm'"),
    # Bounds (issue 22): steps of 0 s hang the generator, huge offsets overflow the clock, and so on.
    Case("a storm sampled every 0 s", """\
series:
  - kind: storm
    station: rain-caisenba
    every: 0s
    start: 0h
    duration: 2h
    total_mm: 50
""", 7, "series.0.storm.every", "0s is outside the bounds 10s–1d"),
    Case("a storm of 99999999999 days", """\
series:
  - kind: storm
    station: rain-caisenba
    start: 0h
    duration: 99999999999d
    total_mm: 50
""", 8, "series.0.storm.duration", "is longer than 3660d"),
    Case("an action a year after the start", """\
actions:
  - {at: 365d, do: raise, level: 3, reason: test}
""", 5, "actions.0.at", "365d is outside the bounds 0s–92d"),
    Case("a river at infinity", """\
series:
  - kind: river
    station: longhe-town
    base: .inf
    rain_station: rain-caisenba
""", 7, "series.0.river.base", "finite number"),
    Case("a reply after a month", """\
people:
  default: {reply_after: {fixed: 30d}}
""", 5, "people.default.reply_after.fixed", "30d is outside the bounds 0s–7d"),
    Case("half a person short of water", """\
actions:
  - {at: 1h, do: report, report: no_drinking_water, value: 2.5}
""", 5, "actions.0.value", "2.5 is not a whole number of people"),
    Case("a negative seed", """\
seed: -1
""", 4, "seed", "greater than or equal to 0"),
    Case("nested aliases", """\
people:
  groups:
""" + "".join(f"    g{i}: &g{i} [{', '.join([f'*g{i - 1}' if i else '1'] * 9)}]\n" for i in range(9)),
         7, "people.groups.g1.5", "more than 50 YAML aliases"),
]


@pytest.fixture(scope="module")
def plan_and_roster() -> tuple[Plan, Roster]:
    plan = read_plan(PLAN).plan
    roster = validate_roster_file(ROSTER, plan)
    roster.raise_if_bad()
    return plan, roster.roster


def write(folder: Path, case: Case) -> Path:
    path = folder / f"{case.id.replace(' ', '-')}.yaml"
    path.write_text(HEAD + case.text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_read_scenario_locates_the_problem(case: Case, tmp_path: Path, plan_and_roster: tuple[Plan, Roster]) -> None:
    path = write(tmp_path, case)
    with pytest.raises(InputError) as caught:
        read_scenario(path, *plan_and_roster)
    problems = caught.value.problems
    assert len(problems) == 1, problems
    [problem] = problems
    assert (problem.file, problem.line, problem.field) == (str(path), case.line, case.field), problem
    assert case.message in problem.message


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_drill_run_refuses_it_before_anything_runs(case: Case, tmp_path: Path) -> None:
    path = write(tmp_path, case)
    main_db = tmp_path / "responder.db"
    out = tmp_path / "out"
    with cli(tmp_path / "cwd") as run:
        result = run(*global_options(f"sqlite:///{main_db}"), "drill", "run", str(path), "--out", str(out))
    assert result.exit_code == 2, result.output
    where = f"{path}:{case.line}" + (f" {case.field}" if case.field else "")
    assert f"{where}: error: " in result.output, result.output
    assert case.message in result.output
    assert not out.exists(), "no drill database, no report"
    assert not main_db.exists()
    assert not (tmp_path / "cwd" / "drill-output").exists()


def test_every_problem_of_a_scenario_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(HEAD + """\
series:
  - kind: storm
    station: rain-nowhere
    start: 0h
    duration: 2h
    total_mm: 5
people:
  groups:
    divers: {never_reply: 1.0}
  persons:
    X999: {never_reply: 1.0}
""", encoding="utf-8")
    with cli(tmp_path / "cwd") as run:
        result = run(*global_options(f"sqlite:///{tmp_path / 'responder.db'}"), "drill", "run", str(path),
                     "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    for line, field in ((6, "series.0.station"), (12, "people.groups.divers"), (14, "people.persons.X999")):
        assert f"{path}:{line} {field}: error: " in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_a_drill_that_would_run_for_hours_is_refused_at_the_key_that_makes_it_so(
        tmp_path: Path, plan_and_roster: tuple[Plan, Roster]) -> None:
    storm = "  - {kind: storm, station: rain-caisenba, every: 10s, start: 0h, duration: 2h, total_mm: 50}\n"
    path = tmp_path / "long.yaml"
    path.write_text('name: {en: long}\nstart: "2027-07-10 09:00"\nduration: 92d\nfeed_check_every: 1m\n'
                    "series:\n" + storm * 8, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_scenario(path, *plan_and_roster)
    found = {(p.line, p.field): p.message for p in caught.value.problems}
    assert found[(4, "feed_check_every")].startswith("132,480 feed checks over 92d; at most 10,000")
    assert found[(12, "series.6.every")].startswith("the series up to this one generate 5,564,160 readings")
