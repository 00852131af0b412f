"""Located problems: every error a user can cause points at a file, a line and a field."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about an input, located so that a person can fix it."""

    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    severity: Severity = Severity.ERROR

    def where(self) -> str:
        """``file:line field``; a command-line option or a setting alone names just itself (``--level``)."""
        parts = [f"{self.file}:{self.line}" if self.file and self.line is not None else self.file or ""]
        if self.field:
            parts.append(self.field)
        return " ".join(p for p in parts if p)

    def __str__(self) -> str:
        where = self.where()
        return f"{where + ': ' if where else ''}{self.severity.value}: {self.message}"


class ResponderError(Exception):
    """Base of errors the CLI turns into a clear message and a non-zero exit."""

    exit_code = 1


class InputError(ResponderError):
    """Bad input from a person or a file: nothing was written."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class NotFound(ResponderError):
    exit_code = 2


class Conflict(ResponderError):
    """The request clashes with the current state (e.g. an incident already open)."""

    exit_code = 3


class DatabaseUnavailable(ResponderError):
    """The database cannot be used now or by this version: unreachable, busy, not a database, or newer schema."""

    exit_code = 4
