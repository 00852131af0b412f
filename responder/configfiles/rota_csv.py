"""The duty rota: ``from,to,person[,deputy]`` in the plan's local time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from responder.configfiles.csv_rows import csv_rows
from responder.configfiles.located_yaml import read_text
from responder.domain.errors import InputError, Problem
from responder.domain.roster import DutyRota, Shift


def parse_local_time(text: str, zone: ZoneInfo) -> datetime:
    """An ISO time; without an offset it is read in the plan's zone. Returned as aware UTC."""
    try:
        when = datetime.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time (write e.g. 2026-06-01 08:00)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when.astimezone(ZoneInfo("UTC"))


def read_rota(path: Path, zone: ZoneInfo) -> DutyRota:
    filename = str(path)
    problems: list[Problem] = []
    shifts: list[Shift] = []
    for row in csv_rows(read_text(path), filename, {"from", "to", "person"}, {"deputy", "notes"}):
        try:
            start = parse_local_time(row.values["from"], zone)
            end = parse_local_time(row.values["to"], zone)
        except ValueError as exc:
            problems.append(Problem(str(exc), filename, row.line, "from/to"))
            continue
        if end <= start:
            problems.append(Problem("'to' must be after 'from'", filename, row.line, "to"))
            continue
        if not row.values["person"]:
            problems.append(Problem("person is empty", filename, row.line, "person"))
            continue
        shifts.append(Shift(start, end, row.values["person"], row.values.get("deputy") or None, row.line))
    if problems:
        raise InputError(problems)
    return DutyRota(tuple(shifts))
