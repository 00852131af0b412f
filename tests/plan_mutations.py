"""Plan files broken on purpose: a copy of the sample with one text replaced, and the check that ``plan check``
points at the line the break is on (``file:line field: error: message``)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Broken:
    id: str
    old: str
    new: str
    field: str
    message: str
    line_of: str
    """Text on the line the problem must point at (in the broken file)."""


def copied_sample(repo: Path, root: Path) -> Path:
    """``config/`` and ``contacts/`` copied under ``root``; the plan's path."""
    for folder in ("config", "contacts"):
        shutil.copytree(repo / folder, root / folder)
    return root / "config" / "plan.yaml"


def replaced_once(text: str, old: str, new: str, what: str) -> str:
    assert text.count(old) == 1, f"the {what} changed: {old!r}"
    return text.replace(old, new)


def line_with(path: Path, needle: str) -> int:
    return next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in text)


def located(output: str, plan: Path, line: int, field: str, message: str) -> bool:
    return any(ln.startswith(f"{plan}:{line} {field}: error: ") and message in ln for ln in output.splitlines())
