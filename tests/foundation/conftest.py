"""Fixtures of the foundation tests: a writable copy of the sample files, and the real CLI in-process."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from responder.domain.clock import FakeClock, SystemClock

REPO = Path(__file__).resolve().parents[2]
PLAN = "config/plan.yaml"
ROSTER = "contacts/roster.csv"
ROTA = "contacts/duty-rota.csv"


@dataclass
class Workspace:
    """A copy of config/ and contacts/ that a test may break."""

    root: Path

    def path(self, rel: str) -> Path:
        return self.root / rel

    def text(self, rel: str) -> str:
        return self.path(rel).read_text(encoding="utf-8")

    def line_of(self, rel: str, needle: str) -> int:
        """1-based line where ``needle`` starts (it must be in the file exactly once)."""
        text = self.text(rel)
        assert text.count(needle) == 1, f"{needle!r} is in {rel} {text.count(needle)} times"
        return text[: text.index(needle)].count("\n") + 1

    def edit(self, rel: str, old: str | re.Pattern[str], new: str, encoding: str = "utf-8") -> int:
        """Replace the one occurrence of ``old`` (text or pattern) and save in ``encoding``.

        Returns the line where the change is.
        """
        text = self.text(rel)
        if isinstance(old, re.Pattern):
            found = old.findall(text)
            assert len(found) == 1, f"{old.pattern!r} matches {rel} {len(found)} times"
            old = found[0]
            assert isinstance(old, str)
        line = self.line_of(rel, old)
        self.path(rel).write_bytes(text.replace(old, new).encode(encoding))
        return line

    def options(self, db_url: str) -> list[str]:
        """The global options that point the CLI at this copy and at ``db_url``."""
        return ["--db", db_url, "--plan", str(self.path(PLAN)), "--roster", str(self.path(ROSTER))]


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    root = tmp_path.resolve() / "ws"
    for folder in ("config", "contacts"):
        shutil.copytree(REPO / folder, root / folder)
    return Workspace(root)


Invoke = Callable[..., Result]


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

