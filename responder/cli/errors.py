"""The CLI's one error boundary: every failure becomes one line saying what is wrong and what to do, and an exit code.

| code | meaning |
| 0    | done |
| 1    | the operation failed or was refused (a feed failed, an unexpected error) |
| 2    | bad input: an option, a file, a setting (``RESPONDER_*``), a plan; a database not set up or not upgraded |
| 3    | the request clashes with the current state (an incident already open, already ended) |
| 4    | the database is unavailable: unreachable, refused the login, busy, not a database, or newer than this program |
| 130  | interrupted (Ctrl-C) |

The traceback is shown only with ``--debug`` or ``RESPONDER_DEBUG=1``. Heavy modules are imported only once an
error is being explained, so ``responder --help`` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

    from responder.domain.errors import Problem

OK, FAILED, BAD_INPUT, CONFLICT, DATABASE, INTERRUPTED = 0, 1, 2, 3, 4, 130


class Debug:
    enabled = False


def debugging() -> bool:
    return Debug.enabled or os.environ.get("RESPONDER_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


OPTION_OF_SETTING = {"database_url": "--db", "plan_file": "--plan", "roster_file": "--roster",
                     "display_language": "--lang"}
"""The global options that set a setting: an error in a value typed there names the option, not the variable."""


def explain(exc: BaseException, database_url: str | None,
            given: Collection[str] = ()) -> tuple[int, list[Problem]]:
    """The exit code and the line(s) to print for ``exc`` (several only for several located problems).
    ``given``: the settings a command-line option set."""
    from responder.domain.errors import InputError, Problem, ResponderError
    from responder.domain.redact import redact

    if isinstance(exc, InputError):
        return exc.exit_code, [_as_typed(_redacted(p), given) for p in exc.problems]
    if isinstance(exc, ResponderError):
        return exc.exit_code, [Problem(redact(str(exc)))]
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED, [Problem("interrupted: what was committed before Ctrl-C stays; run the command again to "
                                     "finish")]
    validation = _validation_problems(exc, given)
    if validation:
        return BAD_INPUT, validation
    database = _database_problem(exc, database_url)
    if database is not None:
        return database
    if isinstance(exc, OverflowError):  # SQLite's driver: an int beyond 64 bits
        return _too_large()
    if isinstance(exc, OSError) and exc.filename is not None:
        return BAD_INPUT, [Problem(f"cannot use {exc.filename}: {exc.strerror or type(exc).__name__}; check the path "
                                   "and its permissions")]
    return FAILED, [Problem(f"unexpected error ({type(exc).__name__}: {redact(_first_line(exc))}): run again with "
                            "--debug for the traceback, and report it")]


def _as_typed(problem: Problem, given: Collection[str]) -> Problem:
    """A problem located in a setting that a command-line option gave names the option."""
    from dataclasses import replace

    for name in given:
        if problem.field == f"RESPONDER_{name.upper()}" and name in OPTION_OF_SETTING:
            return replace(problem, field=OPTION_OF_SETTING[name])
    return problem


def _redacted(problem: Problem) -> Problem:
    from dataclasses import replace

    from responder.domain.redact import redact

    return replace(problem, message=redact(problem.message))


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def _validation_problems(exc: BaseException, given: Collection[str] = ()) -> list[Problem]:
    """A setting pydantic refused: ``RESPONDER_SEND_CONCURRENCY: error: 'abc' is not ... (an integer)``."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return []
    return _setting_problems(exc, given)


def _setting_problems(exc: ValidationError, given: Collection[str]) -> list[Problem]:
    from responder.domain.errors import Problem
    from responder.domain.redact import redact

    problems = []
    for error in exc.errors(include_url=False):
        name = "_".join(str(part) for part in error["loc"]) or exc.title
        shown = _shown_value(name, error.get("input"))
        if name in given and name in OPTION_OF_SETTING:
            problems.append(Problem(f"{redact(shown)}{error['msg'].lower()}", field=OPTION_OF_SETTING[name]))
        else:
            problems.append(Problem(f"{redact(shown)}{error['msg'].lower()}; fix the setting (environment or .env)",
                                    field=f"RESPONDER_{name.upper()}"))
    return problems


def _shown_value(name: str, value: Any) -> str:
    if any(secret in name for secret in ("token", "password", "secret", "key")):
        return ""
    if isinstance(value, str | int | float):
        text = str(value)
        return f"{text[:60]!r}: " if len(text) <= 60 else f"{text[:60]!r}…: "
    return ""


def _database_problem(exc: BaseException, database_url: str | None) -> tuple[int, list[Problem]] | None:
    from sqlalchemy.exc import DBAPIError, DisconnectionError

    if not isinstance(exc, DBAPIError | DisconnectionError):
        return None
    from responder.domain.errors import Problem
    from responder.storage.db_errors import explain as explain_database
    from responder.storage.db_errors import first_line

    line = explain_database(exc, database_url or "the database")
    if line is not None:
        return DATABASE, [Problem(line)]
    if _out_of_range(exc):  # PostgreSQL: beyond the column's integer type
        return _too_large()
    return FAILED, [Problem(f"the database refused the operation ({first_line(exc)}): run again with --debug for the "
                            "traceback, and report it")]


def _too_large() -> tuple[int, list[Problem]]:
    from responder.domain.errors import Problem

    return BAD_INPUT, [Problem("a number given is too large for the database (ids and counts go up to 2147483647): "
                               "check the id")]


def _out_of_range(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "out of range" in text or "too large" in text
