"""Loading a drill scenario (``config/drills/*.yaml``) and checking it against the plan and roster."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path

from responder.configfiles.located_yaml import load_yaml, read_text, validate_model
from responder.domain.checks import Path as KeyPath
from responder.domain.checks import Sources
from responder.domain.drills import Scenario
from responder.domain.errors import InputError, Problem
from responder.domain.plan import Plan
from responder.domain.roster import Roster


@dataclass(frozen=True)
class ScenarioFile:
    scenario: Scenario
    filename: str
    lines: dict[KeyPath, int]

    def start_utc(self, plan: Plan) -> datetime:
        start = self.scenario.start
        if start.tzinfo is None:
            start = start.replace(tzinfo=plan.area.zone)
        from datetime import UTC

        return start.astimezone(UTC)


def read_scenario(path: Path, plan: Plan, roster: Roster) -> ScenarioFile:
    """Parse, validate and cross-check: every problem is located before anything runs."""
    filename = str(path)
    data, lines = load_yaml(read_text(path), filename)
    scenario = validate_model(Scenario, data, filename, lines)
    src = Sources(plan_file=filename, plan_lines=lines)
    problems: list[Problem] = []

    def bad(where: KeyPath, message: str) -> None:
        problems.append(Problem(message, filename, src.plan_line(where), ".".join(str(p) for p in where)))

    stations = {s.id for s in plan.stations}
    rain_kinds = {s.id for s in plan.stations if s.kind == "rain"}
    for i, series in enumerate(scenario.series):
        if series.station not in stations:
            bad(("series", i, "station"), f"unknown station {series.station!r} (the plan has: "
                                          f"{', '.join(sorted(stations)) or 'none'})")
        if series.kind == "river" and series.rain_station not in stations:
            bad(("series", i, "rain_station"), f"unknown station {series.rain_station!r}")
        if series.kind == "listed" and series.station in rain_kinds:
            for j, point in enumerate(series.values):
                if point.value < 0:
                    bad(("series", i, "values", j, "value"), f"negative rainfall {point.value}")
    hazards = {h.id for h in plan.hazards}
    for i, action in enumerate(scenario.actions):
        if action.hazard not in hazards:
            bad(("actions", i, "hazard"), f"unknown hazard {action.hazard!r}")
        if action.station and action.station not in stations:
            bad(("actions", i, "station"), f"unknown station {action.station!r}")
    for i, (a, b) in enumerate(pairwise(scenario.actions)):
        if b.at < a.at:
            bad(("actions", i + 1, "at"), f"times out of order: {b.at} comes before the previous action's {a.at}")
    for group in scenario.people.groups:
        if group not in plan.group_ids:
            bad(("people", "groups", group), f"unknown group {group!r}")
    for person in scenario.people.persons:
        if roster.get(person) is None:
            bad(("people", "persons", person), f"unknown person {person!r} (not in the roster)")
    if problems:
        raise InputError(problems)
    return ScenarioFile(scenario, filename, lines)
