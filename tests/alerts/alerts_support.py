"""Shared helpers of the alert tests (imported by the test modules next to it; not a test module itself).

The expected call-out is computed here straight from ``config/plan.yaml`` and ``contacts/roster.csv`` with
PyYAML and csv, independently of the production code, so that the tests check the code against the plan.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke as run_cli
from click.testing import Result
from sample_plan import (  # noqa: F401 - the alert tests import these from here
    PLAN,
    REPO,
    ROSTER,
    callout_entry,
    evacuation_people,
    expected_groups,
    expected_people,
    raw_plan,
    raw_roster,
)
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

REASON = "龙河水位超警戒线0.5米"
"""A reading in Chinese, as the duty officer would type it."""
DUTY_OFFICER = "O002"
"""On the rota on 1 July 2027 at 09:00 local (tests/conftest.py SEASON_START)."""
COUNTY = "ext:+8617400009999"


# -- the plan and the roster, read independently (more in tests/sample_plan.py) -----------------------------------
def group_members(group: str, roles: tuple[str, ...] = ("leader", "deputy", "member")) -> set[str]:
    return {p.id for p in raw_roster().values() if p.groups.get(group) in roles}


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
