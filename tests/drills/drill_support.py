"""Support for the drill tests: scenario runs into folders of their own, the real CLI, and the expected figures
read straight from config/plan.yaml and contacts/roster.csv (PyYAML and csv, not the code under test)."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from cli_support import invoke as run_cli
from sqlalchemy import select
from typer.testing import CliRunner, Result

from responder.domain.clock import FakeClock
from responder.drills.run import DrillOutcome, run_scenario
from responder.settings import Settings
from responder.storage.models import AuditEventRow, IncidentRow, OutboxRow
from responder.wiring import AppContext

REPO = Path(__file__).resolve().parents[2]
PLAN = REPO / "config" / "plan.yaml"
ROSTER = REPO / "contacts" / "roster.csv"
BUNDLED = REPO / "config" / "drills" / "sanjian-flood.yaml"
DATA = Path(__file__).resolve().parent / "data"
MARKERS = {"zh": "【演练】", "en": "[DRILL] "}
"""The plan's sms.drill_marker, as written in config/plan.yaml."""
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


# -- what the plan and roster say, read independently --------------------------------------------------------------
@cache
def plan_yaml() -> dict[str, Any]:
    return dict(yaml.safe_load(PLAN.read_text(encoding="utf-8")))


@cache
def roster_rows() -> dict[str, dict[str, str]]:
    with ROSTER.open(encoding="utf-8", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def roster_groups(person_id: str) -> dict[str, str]:
    """group → role."""
    return dict(p.split(":") for p in roster_rows()[person_id]["groups"].split(";") if p)


def members(group: str, roles: tuple[str, ...] = ("leader", "deputy", "member")) -> set[str]:
    return {pid for pid in roster_rows() if roster_groups(pid).get(group) in roles}


def name_of(person_id: str) -> str:
    return roster_rows()[person_id]["name"]


def duration(text: str) -> timedelta:
    return timedelta(seconds=int(text[:-1]) * UNITS[text[-1]])


def policy(level: int) -> dict[str, Any]:
    return next(p for p in plan_yaml()["escalation_policy"] if p["level"] == level)


def policy_steps(level: int) -> list[tuple[timedelta, str, str | None]]:
    """(after, action, chain step) of each step of the level's policy, in order."""
    return [(duration(s["after"]), s["action"], s.get("chain_step")) for s in policy(level)["steps"]]


def called_groups(hazard: str, level: int) -> dict[str, set[str]]:
    """group → who the plan's call-out matrix calls for it."""
    h = next(x for x in plan_yaml()["hazards"] if x["id"] == hazard)
    entry = next(c for c in h["callout"] if c["level"] == level)
    return {g["group"]: members(g["group"], tuple(g.get("roles", ("leader", "deputy", "member"))))
            for g in entry["groups"]}


def headcount(group: str) -> int | None:
    teams = [t for t in plan_yaml()["resources"]["teams"] if t.get("group") == group]
    return sum(t["headcount"] for t in teams) if teams else None


def scenario_start(path: Path) -> datetime:
    """The scenario's start (local time in the plan's zone) as an aware datetime."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["start"]
    return datetime.fromisoformat(str(raw)).replace(tzinfo=ZoneInfo(plan_yaml()["area"]["timezone"]))


# -- contexts and runs ----------------------------------------------------------------------------------------------
def settings(url: str, **overrides: Any) -> Settings:
    return Settings(_env_file=None, database_url=url, plan_file=PLAN, roster_file=ROSTER,
                    **{"gateway": "fake", **overrides})


def context(url: str, at: datetime) -> AppContext:
    """A context on an existing database, its clock at ``at``."""
    return AppContext(settings(url), clock=FakeClock(at))


@dataclass
class Played:
    outcome: DrillOutcome
    ctx: AppContext
    """A context on the drill's own database, its clock where the drill ended."""
    main_url: str
    """The working folder's database the drill was started from (never created by a drill)."""

    @property
    def incident_ids(self) -> list[int]:
        return self.outcome.result.incidents


def play(scenario: Path, folder: Path) -> Played:
    """``run_scenario`` as `responder drill run` calls it, from a working folder whose database is never set up."""
    main_url = f"sqlite:///{folder / 'responder.db'}"
    main = AppContext(settings(main_url))
    outcome = run_scenario(main, scenario, folder / "out")
    return Played(outcome, context(outcome.database, outcome.result.ended), main_url)


def audit(ctx: AppContext, incident_id: int | None = None) -> list[AuditEventRow]:
    with ctx.sessions() as session:
        query = select(AuditEventRow).order_by(AuditEventRow.id)
        if incident_id is not None:
            query = query.where(AuditEventRow.incident_id == incident_id)
        return list(session.scalars(query))


def outbox(ctx: AppContext) -> list[OutboxRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def incidents(ctx: AppContext) -> list[IncidentRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(IncidentRow).order_by(IncidentRow.id)))


def unmarked(rows: list[OutboxRow]) -> list[tuple[int, str, str]]:
    """Messages whose text does not start with the drill marker of their language."""
    return [(r.id, r.language, r.body[:40]) for r in rows if not r.body.startswith(MARKERS[r.language])]


# -- the real CLI ---------------------------------------------------------------------------------------------------
Invoke = Callable[..., Result]


@contextmanager
def cli(cwd: Path, env: dict[str, str] | None = None) -> Iterator[Invoke]:
    """``responder ARGS`` in-process, in ``cwd``, with no RESPONDER_* variables but ``env`` and a wide console.

    Usable from module-scoped fixtures (its own MonkeyPatch). Each call starts from a fresh app context.
    """

    runner = CliRunner()
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("RESPONDER_"):
                mp.delenv(name)
        for name, value in (env or {}).items():
            mp.setenv(name, value)
        mp.setenv("COLUMNS", "400")
        cwd.mkdir(parents=True, exist_ok=True)
        mp.chdir(cwd)

        def invoke(*args: str, input: str | None = None) -> Result:
            return run_cli(runner, *args, input=input)

        yield invoke


def global_options(url: str, plan: Path = PLAN, roster: Path = ROSTER) -> tuple[str, ...]:
    return ("--db", url, "--plan", str(plan), "--roster", str(roster))
