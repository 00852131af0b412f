"""Incidents with a history on a real database, raised, changed and stood down through the real use cases."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from cap_support import Incidents, declare
from cli_support import invoke
from typer.testing import CliRunner, Result

from responder.domain.clock import FakeClock, SystemClock
from responder.wiring import AppContext


@pytest.fixture
def incidents(sqlite_ctx: AppContext, clock: FakeClock) -> Incidents:
    return declare(sqlite_ctx, clock)


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
