"""Fixtures of the foundation tests: a writable copy of the sample files, and the real CLI in-process."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from foundation_support import REPO, Invoke, Workspace
from typer.testing import CliRunner, Result

from responder.domain.clock import FakeClock, SystemClock


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    root = tmp_path.resolve() / "ws"
    for folder in ("config", "contacts"):
        shutil.copytree(REPO / folder, root / folder)
    return Workspace(root)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock) -> Iterator[Invoke]:
    """``responder ARGS`` in-process, with the system clock stopped at ``clock`` (inside the flood season).

    It runs in an empty folder with no RESPONDER_* variables, so only the options given count; the
    engine each command opened is disposed afterwards.
    """
    from responder.cli.common import State
    from responder.cli.main import app

    for name in list(os.environ):
        if name.startswith("RESPONDER_"):
            monkeypatch.delenv(name)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(SystemClock, "now", lambda self: clock.now())
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        try:
            return runner.invoke(app, list(args), catch_exceptions=False)
        finally:
            if State.ctx is not None and "engine" in vars(State.ctx):
                State.ctx.engine.dispose()
            State.ctx = None

    yield invoke

