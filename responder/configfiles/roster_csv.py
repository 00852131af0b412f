"""The roster file: one row per person, ``groups`` written as ``command:leader;rescue:member``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from responder.configfiles.csv_rows import csv_rows
from responder.configfiles.located_yaml import read_text
from responder.configfiles.phones import normalise_phone
from responder.domain.entry import MAX_NAME, MAX_NOTE, text_problem
from responder.domain.errors import InputError, Problem
from responder.domain.plan import Plan
from responder.domain.roster import Membership, Person, Roster
from responder.domain.types import Role

REQUIRED = {"id", "name", "phone", "groups", "village", "language"}
OPTIONAL = {"notes"}
TEXT_LIMITS = {"id": 64, "name": MAX_NAME, "phone": 40, "groups": 1000, "village": MAX_NAME, "language": 16,
               "notes": MAX_NOTE}
"""Longest value per column. Every column also refuses control, bidi and zero-width characters: a name with a
right-to-left override reads differently in the report than in the file."""


@dataclass
class RosterFile:
    roster: Roster
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def raise_if_bad(self) -> None:
        if self.problems:
            raise InputError(self.problems)


def parse_groups(text: str) -> tuple[Membership, ...]:
    memberships = []
    seen: set[str] = set()
    for part in (p.strip() for p in text.replace("；", ";").split(";")):
        if not part:
            continue
        group, _, role = part.partition(":")
        group, role = group.strip(), (role.strip() or "member")
        if not group:
            raise ValueError(f"{part!r}: a group id is required before ':'")
        try:
            parsed = Role(role)
        except ValueError:
            raise ValueError(f"{part!r}: role must be leader, deputy or member") from None
        if group in seen:
            raise ValueError(f"group {group!r} is listed twice")
        seen.add(group)
        memberships.append(Membership(group, parsed))
    return tuple(memberships)


def read_roster(path: Path, country: str) -> RosterFile:
    """Read every row; rows with problems are left out and their problems listed (all of them)."""
    filename = str(path)
    text = read_text(path)
    people: list[Person] = []
    result = RosterFile(Roster(()))
    ids: dict[str, int] = {}
    phones: dict[str, int] = {}
    for row in csv_rows(text, filename, REQUIRED, OPTIONAL):
        v = row.values
        bad = False

        def problem(fld: str, message: str, line: int = row.line) -> None:
            nonlocal bad
            bad = True
            result.problems.append(Problem(message, filename, line, fld))

        for name in TEXT_LIMITS:
            why = text_problem(v.get(name, ""), name, TEXT_LIMITS[name], allow_newlines=name == "notes")
            if why is not None:
                problem(name, why)
        if not v["id"]:
            problem("id", "id is empty")
        elif v["id"] in ids:
            problem("id", f"duplicate id {v['id']!r} (first on line {ids[v['id']]})")
        if not v["name"]:
            problem("name", "name is empty")
        if not v["language"]:
            problem("language", "language is empty (e.g. zh or en)")
        phone = ""
        try:
            phone = normalise_phone(v["phone"], country)
        except ValueError as exc:
            problem("phone", str(exc))
        if phone and phone in phones:
            problem("phone", f"phone {phone} is already on line {phones[phone]}")
        try:
            memberships = parse_groups(v["groups"])
        except ValueError as exc:
            problem("groups", str(exc))
            memberships = ()
        if bad:
            continue
        ids[v["id"]] = row.line
        phones[phone] = row.line
        result.lines[v["id"]] = row.line
        people.append(Person(v["id"], v["name"], phone, v["language"], v["village"], memberships))
    result.roster = Roster(tuple(people))
    return result


def validate_roster_file(path: Path, plan: Plan) -> RosterFile:
    """Read the file and check each row against the plan's groups and languages."""
    loaded = read_roster(path, plan.area.country)
    for person in loaded.roster.people:
        line = loaded.lines.get(person.id)
        for m in person.memberships:
            if m.group not in plan.group_ids:
                known = ", ".join(sorted(plan.group_ids))
                loaded.problems.append(Problem(f"unknown group {m.group!r} (known: {known})", str(path), line,
                                               "groups"))
        if person.language not in plan.languages:
            loaded.problems.append(Problem(f"language {person.language!r} is not one of the plan's {plan.languages}",
                                           str(path), line, "language"))
    loaded.problems.sort(key=lambda p: p.line or 0)
    return loaded
