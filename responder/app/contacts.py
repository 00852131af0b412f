"""Importing and listing the roster in force."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from responder.app.ports import Context
from responder.configfiles.roster_csv import RosterFile, validate_roster_file
from responder.domain.errors import InputError, Problem
from responder.domain.roster import Roster
from responder.storage.db import transaction
from responder.storage.people import RosterDiff, apply_diff, diff_roster, load_roster, phone_holders


def import_contacts(ctx: Context, path: Path, dry_run: bool = False, loaded: RosterFile | None = None) -> RosterDiff:
    """Upsert everyone in ``path`` (``loaded``: that file as ``validate_roster_file`` already read it). Any bad
    row: nothing is written and every bad row is listed."""
    from responder.app.plan_in_force import check_against

    # Checked against the roster this import puts in force, not the one it replaces: a plan naming someone only
    # the new file has must not stop the import that brings them in.
    loaded = loaded or validate_roster_file(path, ctx.plan_file.plan)
    loaded.raise_if_bad()
    ctx.require_schema()
    with transaction(ctx.sessions) as session:
        current = load_roster(session)
        incoming = {p.id for p in loaded.roster.people}
        merged = Roster(loaded.roster.people + tuple(p for p in current.people if p.id not in incoming))
        check_against(ctx, merged, str(path), loaded.lines)
        diff = diff_roster(current, loaded.roster)
        _refuse_phones_held_elsewhere(session, loaded, path)
        if not dry_run:
            apply_diff(session, diff, ctx.clock.now())
        else:
            session.rollback()
    return diff


def _refuse_phones_held_elsewhere(session: Session, loaded: RosterFile, path: Path) -> None:
    """A number in the file that the database gives to someone not in the file: say so, write nothing."""
    holders = phone_holders(session)
    in_file = {p.id for p in loaded.roster.people}
    problems = [
        Problem(f"phone {p.phone} belongs to {holders[p.phone]!r} in the database, who is not in this file "
                "(give them another number in the file first)", str(path), loaded.lines.get(p.id), "phone")
        for p in loaded.roster.people
        if p.phone in holders and holders[p.phone] != p.id and holders[p.phone] not in in_file
    ]
    if problems:
        raise InputError(problems)


def list_contacts(ctx: Context, group: str | None = None) -> Roster:
    ctx.require_schema()
    if group is not None and group not in ctx.plan.group_ids:
        raise InputError(Problem(f"unknown group {group!r} (known: {', '.join(sorted(ctx.plan.group_ids))})",
                                 field="--group"))
    with ctx.sessions() as session:
        roster = load_roster(session)
    if group is None:
        return roster
    return Roster(tuple(roster.members(group)))


def roster_in_force(ctx: Context) -> Roster:
    ctx.require_schema()
    with ctx.sessions() as session:
        roster = load_roster(session)
    if not roster.people:
        raise InputError(Problem("no people in the database: run `responder contacts import contacts/roster.csv`",
                                 field="roster"))
    return roster
