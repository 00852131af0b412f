"""How fast a group answered, counted from when that group called each person.

A person in two groups is called by each in turn (rescue at level 3, command at the upgrade to 2): their
confirmation of the first call is no answer to the second, so each group's times count from its own
call-out of that person, and only confirmations after it. Pure: the call-outs and confirmation times come
from whatever records the incident keeps (derived from its level changes here, or a call-out history).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class CallOut:
    """One group calling one person."""

    person_id: str
    group: str
    at: datetime


@dataclass(frozen=True, slots=True)
class GroupResponse:
    group: str
    called_at: datetime
    """The group's first call-out."""
    called: tuple[str, ...]
    """Everyone the group called, in the order first called."""
    answered: Mapping[str, timedelta]
    """Per person who confirmed after the group called them: how long after that call."""
    confirmed: tuple[str, ...]
    """Who confirmed, after the group's call or already before it (they are not chased again)."""
    first_confirmation: timedelta | None
    """From the group's first call-out to the first confirmation given after a call of this group."""
    required: int | None
    """The headcount the plan requires of the group, if any."""
    headcount_reached: timedelta | None
    """From the group's first call-out to the ``required``-th such confirmation; None if never or no headcount."""


def callouts(changes: Iterable[tuple[datetime, int | None]],
             wanted: Callable[[int], Mapping[str, Collection[str]]]) -> list[CallOut]:
    """The call-outs a run of level changes made: a person is called by a group when the level they are changed
    to wants them in it and they were not already; a level that no longer wants them (a downgrade, the
    stand-down: ``None``) ends it, so a later upgrade calls them again; an upgrade releases nobody.
    ``wanted(level)``: person → the groups that level calls them for."""
    out: list[CallOut] = []
    active: set[tuple[str, str]] = set()
    before: int | None = None
    for at, level in changes:
        now = {(pid, g) for pid, groups in (wanted(level).items() if level is not None else ()) for g in groups}
        out += [CallOut(pid, g, at) for pid, g in sorted(now - active)]
        upgrade = level is not None and before is not None and level < before
        active = active | now if upgrade else now  # an upgrade releases nobody; a downgrade releases the unwanted
        before = level
    return out


def group_response(group: str, calls: Sequence[CallOut], confirmations: Mapping[str, Sequence[datetime]],
                   required: int | None) -> GroupResponse:
    """The figures of one group from its call-outs (any order) and every confirmation time per person."""
    mine = sorted((c for c in calls if c.group == group), key=lambda c: (c.at, c.person_id))
    assert mine, f"group {group} called nobody"
    first_call: dict[str, datetime] = {}
    for c in mine:
        first_call.setdefault(c.person_id, c.at)
    answered: dict[str, timedelta] = {}
    answers: list[datetime] = []
    confirmed = []
    for pid, called_at in first_call.items():
        times = sorted(confirmations.get(pid, ()))
        after = next((t for t in times if t >= called_at), None)
        if times:
            confirmed.append(pid)
        if after is not None:
            answered[pid] = after - called_at
            answers.append(after)
    answers.sort()
    start = mine[0].at
    reached = None
    if required is not None:
        if required <= 0:
            reached = timedelta(0)
        elif len(answers) >= required:
            reached = answers[required - 1] - start
    return GroupResponse(group, start, tuple(first_call), answered, tuple(confirmed),
                         answers[0] - start if answers else None, required, reached)
