"""Shared helpers of the alert tests (imported by the test modules next to it; not a test module itself).

The expected call-out is computed here straight from ``config/plan.yaml`` and ``contacts/roster.csv`` with
PyYAML and csv, independently of the production code, so that the tests check the code against the plan.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_support import invoke as run_cli
from click.testing import Result
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from responder.domain.clock import FakeClock, SystemClock
from responder.storage.models import (
    AuditEventRow,
    EscalationStepRow,
    IncidentRow,
    OutboxRow,
    RecipientRow,
    SendAttemptRow,
)
from responder.wiring import AppContext

REPO = Path(__file__).resolve().parents[2]
PLAN = REPO / "config" / "plan.yaml"
ROSTER = REPO / "contacts" / "roster.csv"
REASON = "龙河水位超警戒线0.5米"
"""A reading in Chinese, as the duty officer would type it."""
DUTY_OFFICER = "O002"
"""On the rota on 1 July 2027 at 09:00 local (tests/conftest.py SEASON_START)."""
COUNTY = "ext:+8617400009999"


# -- the plan and the roster, read independently ---------------------------------------------------------------
@cache
def raw_plan() -> dict[str, Any]:
    return dict(yaml.safe_load(PLAN.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class RosterPerson:
    id: str
    name: str
    language: str
    groups: dict[str, str]


@cache
def raw_roster() -> dict[str, RosterPerson]:
    people = {}
    with ROSTER.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            groups = dict(part.split(":") for part in row["groups"].split(";") if part)
            people[row["id"]] = RosterPerson(row["id"], row["name"], row["language"], groups)
    return people


def callout_entry(hazard: str, level: int) -> dict[str, Any]:
    found = next(h for h in raw_plan()["hazards"] if h["id"] == hazard)
    return dict(next(c for c in found["callout"] if c["level"] == level))


def expected_groups(hazard: str, level: int) -> dict[str, set[str]]:
    """group → ids of the people the call-out matrix names for it at ``level``."""
    out: dict[str, set[str]] = {}
    for entry in callout_entry(hazard, level)["groups"]:
        roles = set(entry.get("roles", ["leader", "deputy", "member"]))
        out[entry["group"]] = {p.id for p in raw_roster().values() if p.groups.get(entry["group"]) in roles}
    return out


def expected_people(hazard: str, level: int) -> set[str]:
    return set().union(*expected_groups(hazard, level).values())


def group_members(group: str, roles: tuple[str, ...] = ("leader", "deputy", "member")) -> set[str]:
    return {p.id for p in raw_roster().values() if p.groups.get(group) in roles}


def evacuation_people() -> set[str]:
    return {pid for zone in raw_plan()["evacuation_zones"] for pid in [zone["responsible"], *zone.get("helpers", [])]}


def english_speakers() -> set[str]:
    return {p.id for p in raw_roster().values() if p.language == "en"}


# -- the database -----------------------------------------------------------------------------------------------
COUNTED = {"incidents": IncidentRow, "recipients": RecipientRow, "outbox": OutboxRow, "audit_events": AuditEventRow,
           "escalation_steps": EscalationStepRow, "send_attempts": SendAttemptRow}


def row_counts(ctx: AppContext) -> dict[str, int]:
    """How many rows each table an alert writes holds: equal before and after means nothing was written."""
    with ctx.sessions() as session:
        return {name: session.scalar(select(func.count()).select_from(model)) or 0 for name, model in COUNTED.items()}


def outbox(ctx: AppContext, incident_id: int | None = None, kind: str | None = None) -> list[OutboxRow]:
    with ctx.sessions() as session:
        query = select(OutboxRow).order_by(OutboxRow.id)
        if incident_id is not None:
            query = query.where(OutboxRow.incident_id == incident_id)
        if kind is not None:
            query = query.where(OutboxRow.kind == kind)
        return list(session.scalars(query))


def audit_kinds(ctx: AppContext, incident_id: int) -> list[str]:
    with ctx.sessions() as session:
        return list(session.scalars(select(AuditEventRow.kind).where(AuditEventRow.incident_id == incident_id)
                                    .order_by(AuditEventRow.id)))


def sibling(ctx: AppContext, **settings: Any) -> AppContext:
    """Another process's view of the same database: its own engine and sessions (and changed settings)."""
    return AppContext(ctx.settings.model_copy(update=settings), clock=ctx.clock)


def same_engine(ctx: AppContext, **settings: Any) -> AppContext:
    """The same database and engine with other settings (deadlines, claim timeouts)."""
    return AppContext(ctx.settings.model_copy(update=settings), clock=ctx.clock, engine_override=ctx.engine)


def execute_raw(ctx: AppContext, sql: str) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(text(sql))


# -- the CLI --------------------------------------------------------------------------------------------------------
Invoke = Callable[..., Result]


@dataclass
class Cli:
    """``responder --db URL --plan config/plan.yaml --roster contacts/roster.csv ARGS`` in-process."""

    url: str
    run: Invoke

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.run("--db", self.url, "--plan", str(PLAN), "--roster", str(ROSTER), *args, input=input)


def cli_runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock,
               env: dict[str, str] | None = None) -> Iterator[Invoke]:
    """The real CLI in an empty folder, no RESPONDER_* variables but ``env``, the system clock at ``clock``,
    and a console wide enough that rich never wraps a line."""

    for name in list(os.environ):
        if name.startswith("RESPONDER_"):
            monkeypatch.delenv(name)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "400")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir(exist_ok=True)
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(SystemClock, "now", lambda self: clock.now())
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return run_cli(runner, *args, input=input)

    yield invoke
