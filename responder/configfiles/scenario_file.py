"""Loading a drill scenario (``config/drills/*.yaml``) and checking it against the plan and roster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from responder.configfiles.located_yaml import load_yaml, read_text, validate_model
from responder.configfiles.scenario_rain import listed_rain
from responder.domain.checks import Path as KeyPath
from responder.domain.checks import Sources
from responder.domain.drills import Listed, Scenario
from responder.domain.errors import InputError, Problem
from responder.domain.plan import Plan
from responder.domain.readings import report_value
from responder.domain.roster import Roster
from responder.domain.types import format_duration


@dataclass(frozen=True)
class ScenarioFile:
    scenario: Scenario
    """As written, with what the plan settles filled in (a listed rain gauge's ``every``: its interval)."""
    filename: str
    lines: dict[KeyPath, int]
    notes: tuple[str, ...] = ()
    """What the drill will do that the file leaves implicit (rain spread over shorter readings, ...)."""

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
    lines = _with_series_tags(data, lines)
    scenario = validate_model(Scenario, data, filename, lines)
    src = Sources(plan_file=filename, plan_lines=lines)
    problems: list[Problem] = []

    def bad(where: KeyPath, message: str) -> None:
        problems.append(Problem(message, filename, src.plan_line(where), ".".join(str(p) for p in where)))

    stations = {s.id: s for s in plan.stations}
    notes: list[str] = []
    resolved: list[Any] = []
    for i, series in enumerate(scenario.series):
        if series.station not in stations:
            bad(("series", i, "station"), f"unknown station {series.station!r} (the plan has: "
                                          f"{', '.join(sorted(stations)) or 'none'})")
        if series.kind == "river" and series.rain_station not in stations:
            bad(("series", i, "rain_station"), f"unknown station {series.rain_station!r}")
        if isinstance(series, Listed) and series.station in stations:
            series = listed_rain(series, i, stations[series.station], scenario.duration, bad, notes)
        resolved.append(series)
    scenario = scenario.model_copy(update={"series": resolved})
    _bounded_work(scenario, bad)
    hazards = {h.id for h in plan.hazards}
    for i, action in enumerate(scenario.actions):
        if action.hazard not in hazards:
            bad(("actions", i, "hazard"), f"unknown hazard {action.hazard!r}")
        if action.station and action.station not in stations:
            bad(("actions", i, "station"), f"unknown station {action.station!r}")
        if action.report is not None and action.value is not None:
            try:  # the same check as a report typed in by duty staff, so that the drill cannot stop half-way
                report_value("dam_break" if action.report == "dam_break" else "drinking_water", action.value)
            except InputError as exc:
                bad(("actions", i, "value"), exc.problems[0].message)
    for i, action in enumerate(scenario.actions):
        if action.at > scenario.duration:
            bad(("actions", i, "at"), f"an action at {format_duration(action.at)} is after the end of the drill "
                                      f"({format_duration(scenario.duration)})")
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
    return ScenarioFile(scenario, filename, lines, tuple(notes))


MAX_CYCLES = 10_000
"""Feed checks in one drill (92 days every 15 minutes is 8,832): each is a whole cycle of the rules."""
MAX_READINGS = 5_000_000
"""Generated readings in one drill (1,000 gauges every 5 minutes for 72 h is 864,000)."""


def _bounded_work(scenario: Scenario, bad: Callable[[KeyPath, str], None]) -> None:
    """Refuse a drill that would run for hours or fill the memory, at the key that makes it so."""
    seconds = scenario.duration.total_seconds()
    cycles = seconds / scenario.feed_check_every.total_seconds()
    if cycles > MAX_CYCLES:
        bad(("feed_check_every",), f"{cycles:,.0f} feed checks over {format_duration(scenario.duration)}; at most "
                                   f"{MAX_CYCLES:,} (check less often or shorten the drill)")
    total = 0.0
    for i, series in enumerate(scenario.series):
        step = series.step if isinstance(series, Listed) else series.every
        total += seconds / step.total_seconds()
        if total > MAX_READINGS:
            bad(("series", i, "every"), f"the series up to this one generate {total:,.0f} readings; at most "
                                        f"{MAX_READINGS:,} (read less often, fewer gauges, or a shorter drill)")
            return


def _with_series_tags(data: Any, lines: dict[KeyPath, int]) -> dict[KeyPath, int]:
    """Pydantic puts a series' kind in an error's location (``series.0.storm.total_mm``): give those paths
    the lines of the keys they name, so that the error points at ``total_mm`` rather than at the series."""
    series = data.get("series") if isinstance(data, dict) else None
    if not isinstance(series, list):
        return lines
    kinds: dict[str | int, Any] = {i: item.get("kind", "listed") for i, item in enumerate(series)
                                   if isinstance(item, dict)}
    out = dict(lines)
    for key, line in lines.items():  # one pass: a scenario can hold thousands of series
        if len(key) >= 2 and key[0] == "series" and isinstance(kinds.get(key[1]), str):
            out.setdefault(("series", key[1], kinds[key[1]], *key[2:]), line)
    return out
