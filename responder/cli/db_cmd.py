"""``responder init`` and ``responder db``: the schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from responder.cli.common import State, app_context, console, new_app

app = new_app("Database schema (Alembic migrations, the same on SQLite and PostgreSQL).")


def init(
    no_contacts: Annotated[bool, typer.Option("--no-contacts", help="Do not load the roster file.")] = False,
    roster: Annotated[Path | None, typer.Option("--roster", help="The roster to load the first time (default: the "
                                                                 "global --roster, or contacts/roster.csv).")] = None,
) -> None:
    from responder.app.contacts import import_contacts
    from responder.app.setup import init_database, rebuild_state
    from responder.configfiles.roster_csv import validate_roster_file
    from responder.domain.errors import InputError, Problem
    from responder.storage.people import load_roster

    if roster is not None:
        State.overrides["roster_file"] = roster
    ctx = app_context()
    load = not no_contacts
    # Read the plan and the roster before touching the database: bad input writes nothing. A roster file that is not
    # there is an error too: the officer would otherwise find out at the first alert that nobody was loaded.
    plan = ctx.plan
    if load:
        if not ctx.settings.roster_file.exists():
            raise InputError(Problem("file not found: name the roster with --roster FILE (or RESPONDER_ROSTER_FILE), "
                                     "or run `responder init --no-contacts` and `responder contacts import FILE` "
                                     "later", str(ctx.settings.roster_file), field="--roster"))
        validate_roster_file(ctx.settings.roster_file, plan).raise_if_bad()
    result = init_database(ctx)
    rebuild_state(ctx, only_if_stale=True)
    out = console()
    if result.created:
        out.print(f"created database {result.url} at schema {result.after}")
    elif result.changed:
        out.print(f"upgraded database {result.url} from {result.before} to {result.after}")
    else:
        out.print(f"database {result.url} is up to date (schema {result.after})")
    with ctx.sessions() as session:
        empty = not load_roster(session).people
    if empty and load:
        diff = import_contacts(ctx, ctx.settings.roster_file)
        out.print(f"loaded {len(diff.added)} people from {ctx.settings.roster_file}")


@app.command("upgrade", help="Apply pending migrations (what `init` does, without loading contacts).")
def upgrade() -> None:
    from responder.app.setup import init_database

    result = init_database(app_context())
    console().print(f"{result.url}: {result.before or 'empty'} → {result.after}")


@app.command("rebuild-state", help="Recompute the state kept per station as readings are stored (each rain "
                                    "gauge's dry days) from the stored readings, for the plan's zone and threshold.")
def rebuild_state_command() -> None:
    from responder.app.setup import rebuild_state

    ctx = app_context()
    console().print(f"{rebuild_state(ctx)} rain gauges' state rebuilt from their hourly totals")


@app.command("current", help="Show the schema revision of the database and of this version.")
def current() -> None:
    from responder.storage.migrate import current_revision, head_revision

    ctx = app_context()
    console().print(f"database: {current_revision(ctx.engine) or 'empty'}; this version: {head_revision()}")
