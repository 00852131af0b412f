"""The plan every command acts on, loaded in one place with the checks ``plan check`` makes.

The model validates the file on its own; what only shows across it (a group id typo in the call-out matrix, an
unknown person in the escalation chain) used to pass unnoticed everywhere but ``plan check``: a level 3 call-out
silently dropped a whole group. Now a command that acts on the plan refuses it with the same located errors.
Loaded once per process (the context keeps it): the plan file, then one read of the roster in force.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from responder.domain.checks import Sources, check_plan_in_force
from responder.domain.errors import InputError, Problem, Severity

if TYPE_CHECKING:
    from responder.app.ports import Context
    from responder.domain.roster import Roster

DATABASE_ROSTER = "the roster in the database"


def load_checked_plan(ctx: Context) -> list[Problem]:
    """Read the plan and check it against the roster in force; raise InputError on any error, return warnings."""
    return check_against(ctx, *roster_to_check(ctx))


def check_against(ctx: Context, roster: Roster | None, roster_source: str,
                  roster_lines: dict[str, int] | None = None) -> list[Problem]:
    """The plan's checks with ``roster`` as the people its references must name (``contacts import`` checks the
    roster it is about to put in force); raise InputError on any error, return the warnings."""
    plan_file = ctx.plan_file
    sources = Sources(str(ctx.settings.plan_file), plan_file.lines, roster_source, roster_lines or {})
    problems = check_plan_in_force(plan_file.plan, roster, sources)
    errors = [p for p in problems if p.severity == Severity.ERROR]
    if errors:
        raise InputError(errors)
    return problems


def roster_to_check(ctx: Context) -> tuple[Roster | None, str, dict[str, int]]:
    """The people the plan's references must name: the database's once it has any, else the roster file that
    ``init`` would load; None before either exists (nothing to check references against)."""
    stored = _stored_roster(ctx)
    if stored is not None:
        return stored, DATABASE_ROSTER, {}
    path = ctx.settings.roster_file
    if not path.exists():
        return None, str(path), {}
    from responder.configfiles.roster_csv import validate_roster_file

    loaded = validate_roster_file(path, ctx.plan_file.plan)
    return loaded.roster, str(path), loaded.lines


def _stored_roster(ctx: Context) -> Roster | None:
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.orm import Session

    from responder.storage.db import reading, sqlite_path
    from responder.storage.people import load_roster

    try:
        path = sqlite_path(ctx.engine)
        if path is not None and not path.exists():
            return None  # never create a database file just to look for people in it
        with reading(ctx.engine) as conn:
            roster = load_roster(Session(bind=conn))
    except (DBAPIError, InputError):  # not set up yet, or not reachable: the command itself will say so
        return None
    return roster if roster.people else None
