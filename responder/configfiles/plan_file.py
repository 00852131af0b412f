"""Loading ``config/plan.yaml`` into a validated :class:`~responder.domain.plan.Plan`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from responder.configfiles import plan_cache
from responder.configfiles.located_yaml import load_yaml, read_text, validate_model
from responder.domain.checks import Path as KeyPath
from responder.domain.plan import Plan


@dataclass(frozen=True)
class PlanFile:
    plan: Plan
    filename: str
    lines: dict[KeyPath, int]


def read_plan(path: Path) -> PlanFile:
    """The plan in ``path``, validated; a text validated before is taken from the cache (``plan_cache``)."""
    filename = str(path)
    text = read_text(path)

    def validated() -> tuple[Plan, dict[KeyPath, int]]:
        data, lines = load_yaml(text, filename)
        return validate_model(Plan, data, filename, lines), lines

    plan, lines = plan_cache.kept(plan_cache.key("plan file", text), validated,
                                  lambda got: isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], Plan))
    return PlanFile(plan, filename, lines)
