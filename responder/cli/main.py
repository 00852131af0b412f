"""``responder``: the duty officer's command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from responder.cli.common import State, new_app

app = new_app("responder: flood and drought emergency response coordinator (防汛抗旱应急响应).")


@app.callback()
def main(
    database_url: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL (default: RESPONDER_DATABASE_URL "
                                                     "or sqlite:///responder.db).")] = None,
    plan: Annotated[Path | None, typer.Option("--plan", help="Plan file (default: config/plan.yaml).")] = None,
    roster: Annotated[Path | None, typer.Option("--roster", help="Roster file (default: contacts/roster.csv).")] = None,
    language: Annotated[str | None, typer.Option("--lang", help="Language for names shown in tables (zh, en).")]
    = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an error (also RESPONDER_DEBUG=1).")]
    = False,
) -> None:
    """Global options apply to every command. Exit codes: 0 done, 1 failed, 2 bad input, 3 conflict with the
    current state, 4 database unavailable, 130 interrupted (README, "Exit codes")."""
    from responder.cli.errors import Debug

    Debug.enabled = debug
    State.ctx = None
    State.overrides = {k: v for k, v in {"database_url": database_url, "plan_file": plan, "roster_file": roster,
                                          "display_language": language}.items() if v is not None}


def _register() -> None:
    from responder.cli import (
        alert_cmd,
        broadcast_cmd,
        cap_cmd,
        contacts_cmd,
        db_cmd,
        dispatch_cmd,
        drill_cmd,
        duty_cmd,
        feeds_cmd,
        plan_cmd,
        report_cmd,
        serve_cmd,
        users_cmd,
    )

    app.command("init", help="Create or upgrade the database and load the roster the first time. Safe to run twice.")(
        db_cmd.init
    )
    app.add_typer(db_cmd.app, name="db")
    app.add_typer(plan_cmd.app, name="plan")
    app.add_typer(contacts_cmd.app, name="contacts")
    app.add_typer(duty_cmd.app, name="duty")
    alert_cmd.app.command("broadcast", help="The village loudspeaker script (大喇叭) of an open incident: text and "
                          "audio (WAV, MP3 where lame is installed), made with espeak-ng.")(broadcast_cmd.broadcast)
    alert_cmd.app.command("cap", help="The incident's public warnings as CAP 1.2 messages: files in --out, or "
                                      "one on standard output (--print); --sign to sign them.")(cap_cmd.cap)
    app.add_typer(alert_cmd.app, name="alert")
    app.command("dispatch", help="Run the outbox worker: send queued messages, retry, reconcile after a crash.")(
        dispatch_cmd.dispatch
    )
    app.add_typer(drill_cmd.app, name="drill")
    app.add_typer(feeds_cmd.app, name="feeds")
    app.add_typer(feeds_cmd.reading_app, name="reading")
    app.command("report", help="After-action report of one or more incidents: self-contained HTML and Markdown.")(
        report_cmd.report
    )
    app.command("serve", help="Run web hooks, the outbox dispatcher and the escalation scheduler in one process.")(
        serve_cmd.serve
    )
    app.add_typer(users_cmd.app, name="users")


_register()


def run() -> None:
    app()
