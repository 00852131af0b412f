"""``responder init`` and ``responder db``: the schema."""

from __future__ import annotations

from typing import Annotated

import typer

from responder.cli.common import app_context, console, new_app

app = new_app("Database schema (Alembic migrations, the same on SQLite and PostgreSQL).")


def init(
    no_contacts: Annotated[bool, typer.Option("--no-contacts", help="Do not load the roster file.")] = False,
) -> None:
    from responder.app.contacts import import_contacts, validate_roster_file
    from responder.app.setup import init_database
    from responder.storage.people import load_roster

    ctx = app_context()
    load = not no_contacts and ctx.settings.roster_file.exists()
    if load:
        # Read the plan and the roster before touching the database: bad input writes nothing.
        validate_roster_file(ctx.settings.roster_file, ctx.plan).raise_if_bad()
    result = init_database(ctx)
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


@app.command("current", help="Show the schema revision of the database and of this version.")
def current() -> None:
    from responder.storage.migrate import current_revision, head_revision

    ctx = app_context()
    console().print(f"database: {current_revision(ctx.engine) or 'empty'}; this version: {head_revision()}")
