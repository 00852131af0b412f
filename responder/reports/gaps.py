"""Plan gaps an incident showed: groups without a deputy, people leaned on by several groups or
incidents at once, groups that never reached their headcount. Pure functions over plain values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from responder.reports.model import Gap, GroupFigures, PersonFigures


def missing_heads(incident_id: int, groups: Iterable[str], roster: Mapping[str, Mapping[str, str]],
                  name: Callable[[str], str]) -> list[Gap]:
    """Called groups whose roster (as snapshotted) has no leader or no deputy."""
    out = []
    for group in groups:
        roles = {r for person in roster.values() for g, r in person.items() if g == group}
        if "leader" not in roles:
            out.append(Gap("no_leader", incident_id, group, f"{name(group)} ({group}) has no leader in the roster"))
        if "deputy" not in roles:
            out.append(Gap("no_deputy", incident_id, group,
                           f"{name(group)} ({group}) has no deputy in the roster: escalation stops at the leader"))
    return out


def shared_people(people: Sequence[PersonFigures], name: Callable[[str], str]) -> list[Gap]:
    """One person called for two or more groups in the same incident: one phone, several jobs."""
    out = []
    for p in people:
        if len(p.groups) >= 2:
            groups = ", ".join(f"{name(g)} ({g})" for g in p.groups)
            state = "confirmed" if p.confirmed_at else "never confirmed"
            out.append(Gap("shared_person", p.incident_id, p.person_id,
                           f"{p.name} ({p.person_id}) was called for {len(p.groups)} groups at once: {groups}; "
                           f"{state}"))
    return out


def short_groups(groups: Sequence[GroupFigures]) -> list[Gap]:
    out = []
    for g in groups:
        if g.reached_headcount is False:
            detail = (f"{g.name} ({g.group}) never reached its headcount: {g.confirmed} of {g.required} required "
                      f"confirmed ({g.called} called)")
            if g.called < (g.required or 0):
                detail += "; fewer people are on the roster than the plan requires"
            out.append(Gap("headcount_not_reached", g.incident_id, g.group, detail))
    return out


@dataclass(frozen=True)
class Call:
    """A person called by an incident, from ``start`` until the incident ended (``end``)."""

    incident_id: int
    code: str
    person_id: str
    name: str
    start: datetime
    end: datetime


def double_calls(calls: Sequence[Call], in_report: Iterable[int]) -> list[Gap]:
    """People called by two incidents whose call-outs overlapped in time."""
    shown = set(in_report)
    by_person: dict[str, list[Call]] = {}
    for c in calls:
        by_person.setdefault(c.person_id, []).append(c)
    out = []
    for pid in sorted(by_person):
        mine = sorted(by_person[pid], key=lambda c: (c.start, c.incident_id))
        for i, a in enumerate(mine):
            for b in mine[i + 1:]:
                if a.incident_id == b.incident_id or b.start >= a.end or a.start >= b.end:
                    continue
                if a.incident_id not in shown and b.incident_id not in shown:
                    continue
                out.append(Gap("two_incidents", a.incident_id if a.incident_id in shown else b.incident_id, pid,
                               f"{a.name} ({pid}) was called by #{a.incident_id} ({a.code}) and #{b.incident_id} "
                               f"({b.code}) at once"))
    return out
