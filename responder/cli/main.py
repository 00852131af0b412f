"""``responder``: the duty officer's command line."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main

from responder.cli.common import ResponderGroup, State, new_app

COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "init": ("db_cmd", "init", "Create or upgrade the database and load the roster the first time. Safe to run twice."),
    "dispatch": ("dispatch_cmd", "dispatch", "Run the outbox worker: send queued messages, retry, reconcile after a "
                                             "crash."),
    "report": ("report_cmd", "report", "After-action report of one or more incidents: self-contained HTML and "
                                       "Markdown."),
    "serve": ("serve_cmd", "serve", "Run web hooks, the outbox dispatcher and the escalation scheduler in one "
                                    "process."),
    "db": ("db_cmd", "app", None),
    "plan": ("plan_cmd", "app", None),
    "contacts": ("contacts_cmd", "app", None),
    "duty": ("duty_cmd", "app", None),
    "alert": ("alert_cmd", "app", None),
    "drill": ("drill_cmd", "app", None),
    "feeds": ("feeds_cmd", "app", None),
    "reading": ("feeds_cmd", "reading_app", None),
    "users": ("users_cmd", "app", None),
}
"""The top-level commands in the order help lists them: (module in responder.cli, its Typer group or command
function, the command's help; None for a group, which has its own)."""


@functools.cache
def _alert_app() -> typer.Typer:
    """``alert``, with the two commands kept in modules of their own."""
    from responder.cli import alert_cmd, broadcast_cmd, cap_cmd

    alert_cmd.app.command("broadcast", help="The village loudspeaker script (大喇叭) of an open incident: text and "
                          "audio (WAV, MP3 where lame is installed), made with espeak-ng.")(broadcast_cmd.broadcast)
    alert_cmd.app.command("cap", help="The incident's public warnings as CAP 1.2 messages: files in --out, or "
                                      "one on standard output (--print); --sign to sign them.")(cap_cmd.cap)
    return alert_cmd.app


def _build(name: str) -> Any:
    """The click command of one top-level command, built as ``add_typer`` / ``command`` on the root would build it."""
    module, attribute, help_text = COMMANDS[name]
    target = _alert_app() if name == "alert" else getattr(importlib.import_module(f"responder.cli.{module}"),
                                                          attribute)
    holder = new_app("")
    if help_text is None:
        holder.add_typer(target, name=name)
        return typer.main.get_command(holder).commands[name]  # type: ignore[attr-defined]
    holder.command(name, help=help_text)(target)
    return typer.main.get_command(holder)  # one command and no callback: typer gives the command itself


class LazyCommands(MutableMapping[str, Any]):
    """The root's subcommands by name, each imported and built the first time it is looked up.

    Importing 13 modules and building 41 click commands to run one was ~8% of ``alert status``'s start-up;
    ``--help`` (which lists them all) and typer's "did you mean" still see every name."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = _build(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        raise TypeError(f"register {name!r} in responder.cli.main.COMMANDS")

    def __delitem__(self, name: str) -> None:
        raise TypeError(f"the root's commands are fixed ({name!r})")

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class RootGroup(ResponderGroup):
    """``responder`` itself: the error boundary of :class:`ResponderGroup`, with commands built on demand."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert not self.commands, "top-level commands go in COMMANDS"
        self.commands = LazyCommands()


app = new_app("responder: flood and drought emergency response coordinator (防汛抗旱应急响应).", cls=RootGroup)


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


def run() -> None:
    app()
