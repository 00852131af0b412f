"""Shared CLI plumbing: the app context, located error output, local-time display."""

from __future__ import annotations

import json
import sys
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from rich.console import Console

    from responder.domain.errors import Problem
    from responder.wiring import AppContext


class State:
    overrides: dict[str, Any] = {}  # noqa: RUF012 - process-wide CLI options
    ctx: AppContext | None = None


def app_context() -> AppContext:
    """The process's AppContext, built on first use from settings and the global options."""
    if State.ctx is None:
        from responder.settings import Settings
        from responder.wiring import AppContext

        ctx = AppContext(Settings(**State.overrides))
        _check_language(ctx)
        State.ctx = ctx
    return State.ctx


def _check_language(ctx: AppContext) -> None:
    """``--lang fr`` was taken and every name fell back silently: refuse a language the plan has no texts in."""
    language = ctx.settings.display_language
    if language is None:
        return
    from responder.domain.errors import InputError, Problem

    languages = ctx.plan_file.plan.languages
    if language not in languages:
        where = "--lang" if "display_language" in State.overrides else "RESPONDER_DISPLAY_LANGUAGE"
        raise InputError(Problem(f"language {language!r} is not one of the plan's ({', '.join(languages)}, in "
                                 f"{ctx.settings.plan_file})", field=where))


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    # soft_wrap: a message or a located problem stays one line however narrow the terminal (grep, jump-to-line).
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def print_problems(problems: list[Problem], err: bool = True) -> None:
    from rich.markup import escape

    out = console(stderr=err)
    for p in problems:
        colour = "red" if p.severity == "error" else "yellow"
        where = f"[bold]{escape(p.where())}[/bold]: " if p.where() else ""
        out.print(f"{where}[{colour}]{p.severity.value}[/{colour}]: {escape(p.message)}")


class ResponderGroup(TyperGroup):
    """The error boundary (``cli/errors.py``): every failure one line and a documented exit code, no traceback
    unless ``--debug`` (or ``RESPONDER_DEBUG=1``)."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click; its Context type is private
        from typer.exceptions import Abort, Exit, TyperException

        try:
            return super().invoke(ctx)
        except (Exit, Abort, TyperException):  # typer's own: a requested exit, or a usage error it reports itself
            raise
        except (Exception, KeyboardInterrupt) as exc:
            from responder.cli.errors import debugging, explain

            if debugging():
                raise
            code, problems = explain(exc, _database_url(), State.overrides.keys())
            print_problems(problems)
            raise typer.Exit(code) from None


def _database_url() -> str:
    import os

    if State.ctx is not None:
        return State.ctx.settings.database_url
    return str(State.overrides.get("database_url") or os.environ.get("RESPONDER_DATABASE_URL")
               or "sqlite:///responder.db")


def new_app(help_text: str, cls: type[TyperGroup] = ResponderGroup) -> typer.Typer:
    return typer.Typer(help=help_text, cls=cls, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_show_locals=False, rich_markup_mode=None)


def dump_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def local_time(when: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S %Z", zone: tzinfo | None = None) -> str:
    """Times are UTC inside and shown in the plan's zone (``zone``: an incident's, from the plan it was declared
    under)."""
    if when is None:
        return "—"
    return when.astimezone(zone or app_context().plan_file.plan.area.zone).strftime(fmt)


def text(value: dict[str, str], language: str | None = None) -> str:
    from responder.domain.plan import pick

    plan = app_context().plan_file.plan  # display only: a read-only view works under a plan being fixed
    return pick(value, language or plan.default_language, plan.default_language)
