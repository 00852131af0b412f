"""Incidents with a history on a real database, raised, changed and stood down through the real use cases."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cli_support import invoke
from typer.testing import CliRunner, Result

from responder.app.alerts import change_level, end_alert, raise_alert
from responder.app.context import AppContext
from responder.configfiles.plan_file import PlanFile
from responder.domain.clock import FakeClock, SystemClock
from responder.domain.plan import Plan


@dataclass(frozen=True)
class Incidents:
    flood: int
    """Raised at 3, upgraded to 1 an hour later, downgraded to 2, stood down: Alert, Update, Update, Cancel."""
    drill: int
    """A live drill (drought, level 4), still open: one Alert with status Exercise."""


def declare(ctx: AppContext, clock: FakeClock) -> Incidents:
    flood = raise_alert(ctx, "flood", 3, "龙河水位接近警戒线", "duty officer").incident_id
    clock.advance(timedelta(hours=1))
    change_level(ctx, flood, 1, "上游溃坝", "duty officer")
    clock.advance(timedelta(hours=2))
    change_level(ctx, flood, 2, "dam breach contained", "duty officer")
    clock.advance(timedelta(hours=1))
    drill = raise_alert(ctx, "drought", 4, "演练：旱情", "drill lead", is_drill=True).incident_id
    clock.advance(timedelta(hours=6))
    end_alert(ctx, flood, "洪水退去", "duty officer")
    return Incidents(flood, drill)


@pytest.fixture
def incidents(sqlite_ctx: AppContext, clock: FakeClock) -> Incidents:
    return declare(sqlite_ctx, clock)


def with_plan(ctx: AppContext, plan: Plan) -> AppContext:
    """The same database and clock under another plan in force (the incidents keep their snapshots)."""
    return AppContext(ctx.settings, clock=ctx.clock, engine_override=ctx.engine,
                      plan_file_override=PlanFile(plan, str(ctx.settings.plan_file), {}))


@pytest.fixture
def cap_cli(sqlite_ctx: AppContext, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock
            ) -> Callable[..., Result]:
    """``responder --db URL --plan PLAN ARGS`` in-process in an empty folder, no RESPONDER_* variables,
    the system clock at ``clock``."""
    for name in list(os.environ):
        if name.startswith("RESPONDER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "400")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(SystemClock, "now", lambda self: clock.now())
    runner = CliRunner()

    def run(*args: str, plan: Path | None = None) -> Result:
        return invoke(runner, "--db", sqlite_ctx.settings.database_url, "--plan",
                      str(plan or sqlite_ctx.settings.plan_file), *args)

    return run
