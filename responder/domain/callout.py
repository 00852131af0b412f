"""The one place that decides who is called at which level, with which task."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from responder.domain.messages import Task
from responder.domain.plan import Plan, Target
from responder.domain.roster import Person, Roster
from responder.domain.types import Role


@dataclass(frozen=True)
class Contact:
    """Someone a message can go to: a roster person or an outsider from the escalation chain."""

    id: str
    name: str
    phone: str
    language: str

    @classmethod
    def of(cls, person: Person) -> Contact:
        return cls(person.id, person.name, person.phone, person.language)


@dataclass(frozen=True)
class CallTarget:
    contact: Contact
    tasks: tuple[Task, ...]
    roles: tuple[tuple[str, Role], ...]
    """(group, role) for each task, in the same order."""


def called_at(plan: Plan, roster: Roster, hazard: str, level: int) -> list[CallTarget]:
    """Everyone the call-out matrix names for ``hazard`` at ``level``: one entry per person, all their tasks."""
    definition = plan.hazard(hazard)
    callout = definition.at(level) if definition else None
    if callout is None:
        return []
    # One pass over the roster, not one per matrix entry: a 10,000-person roster is read once.
    in_group: dict[str, list[tuple[Person, Role]]] = {}
    for person in roster.people:
        seen: set[str] = set()
        for m in person.memberships:
            if m.group not in seen:  # the first membership of a group is the person's role in it (role_in)
                seen.add(m.group)
                in_group.setdefault(m.group, []).append((person, m.role))
    by_person: dict[str, list[tuple[Task, str, Role]]] = {}
    for entry in callout.groups:
        wanted = set(entry.roles)
        task = Task(entry.group, entry.task, entry.report_to)
        for person, role in in_group.get(entry.group, ()):
            if role in wanted:
                by_person.setdefault(person.id, []).append((task, entry.group, role))
    targets = []
    for person in roster.people:  # roster order keeps call-outs stable and leaders first where listed so
        if person.id in by_person:
            items = by_person[person.id]
            targets.append(CallTarget(Contact.of(person), tuple(t for t, _, _ in items),
                                      tuple((g, r) for _, g, r in items)))
    return targets


def resolve_target(target: Target, roster: Roster, duty_officer: Person | None) -> list[Contact]:
    if target.duty_officer:
        return [Contact.of(duty_officer)] if duty_officer else []
    if target.person:
        person = roster.get(target.person)
        return [Contact.of(person)] if person else []
    if target.group and target.role:
        return [Contact.of(p) for p in roster.members(target.group, [target.role])]
    if target.external:
        ext = target.external
        return [Contact(f"ext:{ext.phone}", ext.name, ext.phone, ext.language)]
    return []


def chain_contacts(plan: Plan, roster: Roster, step_id: str, duty_officer: Person | None) -> list[Contact]:
    step = plan.chain_step(step_id)
    if step is None:
        return []
    found: dict[str, Contact] = {}
    for target in step.targets:
        for contact in resolve_target(target, roster, duty_officer):
            found.setdefault(contact.id, contact)
    return list(found.values())


def group_heads(roster: Roster, group: str, exclude: Collection[str] = ()) -> list[Person]:
    """Who is told about a group's trouble: its leader, else its deputy (never someone in ``exclude``)."""
    for role in (Role.LEADER, Role.DEPUTY):
        heads = [p for p in roster.members(group, [role]) if p.id not in exclude]
        if heads:
            return heads
    return []
