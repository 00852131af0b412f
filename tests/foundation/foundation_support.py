"""Shared by the foundation tests (a module of its own: ``conftest`` is not a unique name to import)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from typer.testing import Result

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


Invoke = Callable[..., Result]
"""``responder ARGS`` run in-process (the ``cli`` fixture)."""
