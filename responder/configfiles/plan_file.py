"""Loading ``config/plan.yaml`` into a validated :class:`~responder.domain.plan.Plan`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from responder.configfiles.located_yaml import load_yaml, read_text, validate_model
from responder.domain.checks import Path as KeyPath
from responder.domain.plan import Plan


@dataclass(frozen=True)
class PlanFile:
    plan: Plan
    filename: str
    lines: dict[KeyPath, int]


def read_plan(path: Path) -> PlanFile:
    filename = str(path)
    data, lines = load_yaml(read_text(path), filename)
    return PlanFile(validate_model(Plan, data, filename, lines), filename, lines)
