"""The printed call tree (电话树): who phones whom at a warning level, for the wall and for when the system is down.

Who is on the tree is decided by :func:`responder.domain.incidents.decide_raise`, the same decision an alert
makes, so a paper copy never names someone a real call-out would not (or misses someone it would).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from responder.domain.callout import chain_contacts
from responder.domain.incidents import RecipientPlan, decide_raise
from responder.domain.messages import IncidentFacts
from responder.domain.plan import CalloutEntry, Plan, pick
from responder.domain.roster import Person, Roster, Shift
from responder.domain.types import Role

ROLE_ORDER = {Role.LEADER.value: 0, Role.DEPUTY.value: 1, Role.MEMBER.value: 2}


@dataclass(frozen=True)
class Entry:
    """A name and the number to dial, as printed."""

    person_id: str
    name: str
    phone: str
    role: str | None = None


@dataclass(frozen=True)
class GroupCall:
    """One group called at the level: its heads phone its members."""

    group: str
    name: str
    task: str
    report_to: str
    heads: tuple[Entry, ...]
    """Leaders, then deputies, as far as the level calls them: the duty office phones them first."""
    members: tuple[Entry, ...]


@dataclass(frozen=True)
class Rung:
    """A step of the reporting chain upward (duty office → deputy in charge → township head → county)."""

    step: str
    name: str
    contacts: tuple[Entry, ...]
    at_once: bool
    """Told as soon as the level is declared (the level's ``inform``), not only when people fail to confirm."""


@dataclass(frozen=True)
class EscalationRow:
    after: timedelta
    action: str
    chain_step: str | None
    """The chain rung's name, for ``notify_chain``."""


@dataclass(frozen=True)
class ZoneCall:
    stretch: str
    shelter: str
    people: tuple[Entry, ...]
    """The person responsible for the stretch first, then the helpers."""


@dataclass(frozen=True)
class LevelTree:
    level: int
    colour: str
    colour_name: str
    level_name: str
    condition: str
    groups: tuple[GroupCall, ...]
    chain: tuple[Rung, ...]
    confirm_within: timedelta | None
    escalation: tuple[EscalationRow, ...]
    repeat: int
    repeat_every: timedelta
    zones: tuple[ZoneCall, ...]
    people: int
    """Everyone a call-out at this level reaches (each person once)."""


@dataclass(frozen=True)
class DutyLine:
    officer: Entry | None
    deputy: Entry | None
    upcoming: tuple[tuple[datetime, Entry], ...]
    """The next shifts of the rota: start and duty officer."""


@dataclass(frozen=True)
class Versions:
    """What lets a reader tell an outdated wall copy: when it was printed, from which plan and roster."""

    printed_at: datetime
    plan_version: int
    plan_digest: str
    roster_digest: str
    roster_size: int
    roster_updated: datetime | None


@dataclass(frozen=True)
class CallTree:
    area: str
    hazard: str
    hazard_name: str
    language: str
    timezone: str
    versions: Versions
    duty: DutyLine
    levels: tuple[LevelTree, ...]


Dial = Callable[[str], str]
"""E.164 → the number as a person dials it from the office (national form at home, international abroad)."""


def call_tree(plan: Plan, roster: Roster, hazard: str, levels: Sequence[int], language: str,
              duty_officer: Person | None, duty_deputy: Person | None, upcoming: Sequence[Shift],
              versions: Versions, dial: Dial = str) -> CallTree:
    """The tree of each level in ``levels``, in ``language``, from the same decision an alert makes."""
    lang = language if language in plan.languages else plan.default_language

    def say(text: dict[str, str]) -> str:
        return pick(text, lang, plan.default_language)

    def entry(person: Person | None) -> Entry | None:
        return Entry(person.id, person.name, dial(person.phone)) if person else None

    definition = plan.hazard(hazard)
    trees = tuple(_level(plan, roster, hazard, level, duty_officer, versions.printed_at, say, dial)
                  for level in levels)
    duty = DutyLine(entry(duty_officer), entry(duty_deputy),
                    tuple((s.start, e) for s in upcoming if (e := entry(roster.get(s.person))) is not None))
    return CallTree(say(plan.area.name), hazard, say(definition.name) if definition else hazard, lang,
                    plan.area.timezone, versions, duty, trees)


def _level(plan: Plan, roster: Roster, hazard: str, level: int, duty_officer: Person | None, now: datetime,
           say: Callable[[dict[str, str]], str], dial: Dial) -> LevelTree:
    decision = decide_raise(plan, roster, IncidentFacts("", hazard, level, ""), duty_officer, now)
    recipients = list(decision.recipients.values())
    definition = plan.hazard(hazard)
    callout = definition.at(level) if definition else None
    groups = tuple(_group(plan, entry, recipients, say, dial) for entry in (callout.groups if callout else ()))
    informed = set(callout.inform) if callout else set()
    chain = tuple(Rung(step.id, say(step.name), tuple(Entry(c.id, c.name, dial(c.phone)) for c in
                                                      chain_contacts(plan, roster, step.id, duty_officer)),
                       step.id in informed) for step in plan.escalation_chain)
    zones = []
    for zone in plan.evacuation_zones:
        people = [r for r in recipients if any(a.zone == zone.id for a in r.assignments)]
        people.sort(key=lambda r: r.contact.id != zone.responsible)
        if people:
            zones.append(ZoneCall(say(zone.stretch), say(zone.shelter),
                                  tuple(Entry(r.contact.id, r.contact.name, dial(r.contact.phone)) for r in people)))
    policy = plan.policy(level)
    names = {step.id: say(step.name) for step in plan.escalation_chain}
    info = plan.level(level)
    return LevelTree(
        level, info.colour, say(info.colour_name), say(info.name), say(info.condition), groups, chain,
        policy.confirm_within if policy else None,
        tuple(EscalationRow(s.after, s.action, names.get(s.chain_step or ""))
              for s in (policy.steps if policy else ())),
        policy.repeat if policy else 0, policy.repeat_every if policy else timedelta(0), tuple(zones),
        len(recipients))


def _group(plan: Plan, entry: CalloutEntry, recipients: list[RecipientPlan], say: Callable[[dict[str, str]], str],
           dial: Dial) -> GroupCall:
    called: list[tuple[int, int, Entry]] = []
    for index, rec in enumerate(recipients):
        role = next((a.role for a in rec.assignments if a.group == entry.group and a.role is not None), None)
        if role is not None:
            called.append((ROLE_ORDER[role], index, Entry(rec.contact.id, rec.contact.name, dial(rec.contact.phone),
                                                          role)))
    called.sort(key=lambda c: (c[0], c[1]))
    heads = tuple(e for _, _, e in called if e.role != Role.MEMBER.value)
    members = tuple(e for _, _, e in called if e.role == Role.MEMBER.value)
    return GroupCall(entry.group, say(plan.group(entry.group).name), say(entry.task), say(entry.report_to), heads,
                     members)
