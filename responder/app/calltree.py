"""``plan calltree``: extract what the printed call tree shows from the plan, the roster in force and the rota."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from responder.app.ports import Context
from responder.domain.calltree import CallTree, Versions, call_tree
from responder.domain.errors import InputError, Problem
from responder.domain.plan import Plan
from responder.domain.roster import DutyRota, Shift
from responder.domain.types import LEVELS

UPCOMING_DAYS = 7
"""The rota's shifts of the coming week are printed: a wall copy names tomorrow's duty officer."""


def fingerprint(value: Any) -> str:
    """A short digest that changes with any edit: two paper copies with the same one show the same plan."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:8]


def choose_language(plan: Plan, language: str | None) -> str:
    if language is None:
        return plan.default_language
    if language not in plan.languages:
        raise InputError(Problem(f"language {language!r} is not one of the plan's ({', '.join(plan.languages)})",
                                 field="--lang"))
    return language


def tree_levels(plan: Plan, hazard: str | None, level: int | None) -> tuple[str, list[int]]:
    """The hazard (default: the plan's first) and its levels to print (default: every level it calls out)."""
    from responder.app.alerts import check_hazard, check_level

    hazard = hazard or plan.hazards[0].id
    check_hazard(plan, hazard)
    definition = plan.hazard(hazard)
    assert definition is not None
    defined = [n for n in LEVELS if definition.at(n) is not None]
    if level is None:
        return hazard, defined
    check_level(level)
    if level not in defined:
        raise InputError(Problem(f"the plan calls nobody at {hazard} level {level}", field="--level"))
    return hazard, [level]


def build_call_tree(ctx: Context, hazard: str | None = None, level: int | None = None,
                    language: str | None = None) -> CallTree:
    """The tree as a call-out now would run it: the roster in force, today's duty officer, the plan's chain."""
    from responder.app.contacts import roster_in_force
    from responder.app.duty import duty_officer
    from responder.configfiles.phones import dial_form
    from responder.storage.people import roster_updated_at

    plan = ctx.plan
    hazard, levels = tree_levels(plan, hazard, level)
    lang = choose_language(plan, language)
    roster = roster_in_force(ctx)
    now = ctx.clock.now()
    with ctx.sessions() as session:
        updated = roster_updated_at(session)
    officer = duty_officer(ctx, roster, plan)
    current, upcoming = _shifts(ctx, now)
    deputy = roster.get(current.deputy) if current and current.deputy and officer \
        and officer.id == current.person else None
    versions = Versions(now, plan.version, fingerprint(plan.model_dump(mode="json")), fingerprint(roster.to_list()),
                        len(roster.people), updated)
    return call_tree(plan, roster, hazard, levels, lang, officer, deputy, upcoming, versions,
                     lambda phone: dial_form(phone, plan.area.country))


def _shifts(ctx: Context, now: datetime) -> tuple[Shift | None, list[Shift]]:
    """The shift on now and the next ones; a broken rota prints none (plan check names its problems)."""
    try:
        rota: DutyRota = ctx.rota()
    except InputError:
        return None, []
    horizon = now + timedelta(days=UPCOMING_DAYS)
    later = sorted((s for s in rota.shifts if now < s.start < horizon), key=lambda s: s.start)
    return rota.on_duty(now), later


@dataclass(frozen=True)
class WrittenTree:
    path: Path
    tree: CallTree
    pages: int
    overflowing: tuple[int, ...]
    """Levels that did not fit one page even in the smallest type."""
    shrunk: dict[int, float]
    """Levels set in smaller type than usual to fit their page, with the size (pt)."""


def default_name(tree: CallTree, fmt: str) -> Path:
    levels = "all" if len(tree.levels) > 1 else f"level{tree.levels[0].level}"
    return Path(f"calltree-{tree.hazard}-{levels}-{tree.language}.{fmt}")


def write_call_tree(ctx: Context, fmt: str, out: Path | None = None, hazard: str | None = None,
                    level: int | None = None, language: str | None = None) -> WrittenTree:
    """Build the tree, render it (PDF: one A4 page per level) and write it whole to ``out``."""
    from responder.app.outfiles import prepare_folder, write_whole
    from responder.reports.calltree_html import render_calltree_html

    tree = build_call_tree(ctx, hazard, level, language)
    path = out or default_name(tree, fmt)
    prepare_folder(path.parent)
    if fmt == "html":
        write_whole(path, render_calltree_html(tree).encode("utf-8"))
        return WrittenTree(path, tree, len(tree.levels), (), {})
    from responder.reports.calltree_html import BASE_SIZE
    from responder.reports.calltree_pdf import render_calltree_pdf

    printed = render_calltree_pdf(tree)
    write_whole(path, printed.pdf)
    shrunk = {level: size for level, size in printed.sizes.items() if size < BASE_SIZE}
    return WrittenTree(path, tree, printed.pages, printed.overflowing, shrunk)
