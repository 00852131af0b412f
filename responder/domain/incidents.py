"""Decisions of the duty officer's core job: raise, change level, stand down.

Each function takes the plan and roster an incident lives under and returns what must happen
(who is a recipient now, which messages go out). Storage writes the result in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from responder.domain.callout import CallTarget, Contact, called_at, chain_contacts
from responder.domain.messages import Composed, IncidentFacts, Task, compose
from responder.domain.plan import Plan, pick
from responder.domain.roster import Person, Roster
from responder.domain.routes import as_sent, confirm_by, template_language
from responder.domain.types import Role

SUMMARISED_KINDS = ("callout", "upgrade", "downgrade", "released", "evacuation", "inform_chain", "resend")
"""The messages whose permanent failure is told to the group heads and the duty officer, in one summary."""
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ"
"""Letters for incident codes: no I or O, which read as 1 and 0 on a phone."""


def incident_code(sequence: int, taken: set[str]) -> str:
    """A short code like "K7" for replies, free among open incidents; ``sequence`` spreads choices."""
    total = len(CODE_ALPHABET) * 9
    for offset in range(total):
        n = (sequence * 37 + offset) % total
        code = f"{CODE_ALPHABET[n // 9]}{n % 9 + 1}"
        if code not in taken:
            return code
    raise RuntimeError("more than 216 incidents open at once")


@dataclass(frozen=True)
class Assignment:
    """Why someone is a recipient: a group task, a rung of the reporting chain, or an evacuation zone."""

    group: str | None = None
    role: str | None = None
    task: Mapping[str, str] | None = None
    report_to: Mapping[str, str] | None = None
    chain: str | None = None
    zone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Assignment:
        return cls(**{k: data.get(k) for k in ("group", "role", "task", "report_to", "chain", "zone")})

    def as_task(self) -> Task | None:
        if self.group and self.task is not None and self.report_to is not None:
            return Task(self.group, dict(self.task), dict(self.report_to))
        return None


@dataclass
class RecipientPlan:
    contact: Contact
    assignments: list[Assignment] = field(default_factory=list)

    @property
    def tasks(self) -> list[Task]:
        return [t for a in self.assignments if (t := a.as_task()) is not None]


@dataclass(frozen=True)
class OutgoingMessage:
    contact: Contact
    kind: str
    text: str
    channel: str = "sms"
    fields: Mapping[str, str] | None = field(default=None, compare=False)
    """The values the text was filled with: a template-only provider's parameters are made from them."""

    @classmethod
    def of(cls, plan: Plan, contact: Contact, kind: str, composed: Composed, channel: str = "sms") -> OutgoingMessage:
        """The message as the person will get it: through a template-only provider (the plan's route for their
        number), the provider's approved template filled (:func:`responder.domain.routes.as_sent`)."""
        language = template_language(plan.messaging, contact.phone, kind, channel)
        if language is not None:
            composed = composed.in_language(language)
        sent = as_sent(plan.messaging, contact.phone, kind, channel, composed.text, composed.fields)
        return cls(contact, kind, sent.text, channel, sent.fields)


def callout_messages(plan: Plan, contact: Contact, kind: str, sms: Composed, facts: IncidentFacts,
                     tasks: Sequence[Task], when: datetime) -> list[OutgoingMessage]:
    """A call-out's messages to one person: the SMS, a voice call (press 1) after it or instead of it, as the route
    of their number says. A voice call-out reads the plan's ``voice`` template."""
    how = confirm_by(plan.messaging, contact.phone)
    out = [] if how == "voice_instead" else [OutgoingMessage.of(plan, contact, kind, sms)]
    if how != "reply":
        out.append(OutgoingMessage.of(plan, contact, "voice", compose(plan, "voice", contact.language, facts, tasks,
                                                                when=when), "voice"))
    return out


@dataclass
class Decision:
    recipients: dict[str, RecipientPlan] = field(default_factory=dict)
    """Recipients whose assignments are new or changed, by contact id."""
    messages: list[OutgoingMessage] = field(default_factory=list)

    def groups(self) -> dict[str, int]:
        """How many people each group calls (for previews and status)."""
        counts: dict[str, int] = {}
        for recipient in self.recipients.values():
            for a in recipient.assignments:
                if a.group:
                    counts[a.group] = counts.get(a.group, 0) + 1
        return counts


def _targets(plan: Plan, roster: Roster, hazard: str, level: int) -> dict[str, RecipientPlan]:
    out: dict[str, RecipientPlan] = {}
    shared: dict[tuple[int, str, Role], Assignment] = {}
    for target in called_at(plan, roster, hazard, level):
        out[target.contact.id] = _from_target(target, shared)
    return out


def _from_target(target: CallTarget, shared: dict[tuple[int, str, Role], Assignment] | None = None) -> RecipientPlan:
    """``shared`` reuses one (frozen) Assignment per task and role: thousands of members share a handful."""
    assignments = []
    for t, (g, r) in zip(target.tasks, target.roles, strict=True):
        key = (id(t), g, r)  # the Task objects outlive ``shared`` (called_at makes one per matrix entry)
        found = shared.get(key) if shared is not None else None
        if found is None:
            found = Assignment(group=g, role=r.value, task=t.task, report_to=t.report_to)
            if shared is not None:
                shared[key] = found
        assignments.append(found)
    return RecipientPlan(target.contact, assignments)


def _extras(plan: Plan, roster: Roster, facts: IncidentFacts, duty_officer: Person | None,
            known: Mapping[str, RecipientPlan], into: Decision, when: datetime) -> None:
    """Evacuation-zone orders and reports up the chain that a level calls for."""
    definition = plan.hazard(facts.hazard)
    callout = definition.at(facts.level) if definition else None
    if callout is None:
        return
    if callout.evacuation:
        for zone in plan.evacuation_zones:
            for pid in [zone.responsible, *zone.helpers]:
                person = roster.get(pid)
                if person is None:
                    continue
                contact = Contact.of(person)
                rec = into.recipients.get(pid) or RecipientPlan(contact, list(known[pid].assignments)
                                                               if pid in known else [])
                if any(a.zone == zone.id for a in rec.assignments):
                    continue
                rec.assignments.append(Assignment(zone=zone.id))
                into.recipients[pid] = rec
                lang = contact.language
                text = compose(plan, "evacuation", lang, facts, extras={
                    "zone": pick(zone.stretch, lang, plan.default_language),
                    "shelter": pick(zone.shelter, lang, plan.default_language)}, when=when)
                into.messages.append(OutgoingMessage.of(plan, contact, "evacuation", text))
    for step in callout.inform:
        for contact in chain_contacts(plan, roster, step, duty_officer):
            existing = into.recipients.get(contact.id) or known.get(contact.id)
            if existing is not None and (existing.tasks or any(a.chain == step for a in existing.assignments)):
                continue  # already told through their own call-out or this rung before
            rec = into.recipients.get(contact.id) or RecipientPlan(contact, list(existing.assignments)
                                                                   if existing else [])
            rec.assignments.append(Assignment(chain=step))
            into.recipients[contact.id] = rec
            text = compose(plan, "inform_chain", contact.language, facts, when=when)
            into.messages.append(OutgoingMessage.of(plan, contact, "inform_chain", text))


def decide_raise(plan: Plan, roster: Roster, facts: IncidentFacts, duty_officer: Person | None,
                 when: datetime) -> Decision:
    decision = Decision(recipients=_targets(plan, roster, facts.hazard, facts.level))
    texts: dict[tuple[str, tuple[int, ...]], Composed] = {}  # the same tasks and language: one render
    for rec in decision.recipients.values():
        key = (rec.contact.language, tuple(id(a) for a in rec.assignments))  # assignments are shared, see _targets
        text = texts.get(key)
        if text is None:
            text = texts[key] = compose(plan, "callout", rec.contact.language, facts, rec.tasks, when=when)
        decision.messages.extend(callout_messages(plan, rec.contact, "callout", text, facts, rec.tasks, when))
    _extras(plan, roster, facts, duty_officer, {}, decision, when)
    decision.messages.extend(robot_messages(plan, "callout", decision.recipients.values(), facts, when))
    return decision


def robot_messages(plan: Plan, kind: str, recipients: Iterable[RecipientPlan], facts: IncidentFacts,
                   when: datetime) -> list[OutgoingMessage]:
    """The group chats' copies: one message per robot whose group is called and which takes ``kind`` messages,
    with the group's task, in the plan's first language, addressed ``robot:<name>``."""
    if plan.messaging is None:
        return []
    tasks = {t.group: t for rec in recipients for t in rec.tasks}
    out = []
    for name, robot in plan.messaging.robots.items():
        task = tasks.get(robot.group)
        if kind not in robot.kinds or (task is None and kind != "standdown"):
            continue  # a stand-down goes to every chat; the others to the chats of the groups called
        contact = Contact(f"robot:{name}", name, f"robot:{name}", plan.default_language)
        out.append(OutgoingMessage.of(plan, contact, kind, compose(plan, kind, contact.language, facts,
                                                                   [task] if task else [], when=when), "robot"))
    return out


def decide_level_change(plan: Plan, roster: Roster, facts: IncidentFacts, already: Mapping[str, RecipientPlan],
                        duty_officer: Person | None, when: datetime) -> Decision:
    """Upgrade: call the newly required, tell the others the new level. Downgrade: tell everyone called."""
    assert facts.old_level is not None
    upgrade = facts.level < facts.old_level
    wanted = _targets(plan, roster, facts.hazard, facts.level)
    decision = Decision()
    for pid, rec in wanted.items():
        old = already.get(pid)
        merged = RecipientPlan(rec.contact, rec.assignments + [a for a in (old.assignments if old else [])
                                                               if a.group is None])
        decision.recipients[pid] = merged
        kind = "callout" if old is None else ("upgrade" if upgrade else "downgrade")
        text = compose(plan, kind, rec.contact.language, facts, merged.tasks, when=when)
        if kind == "downgrade":
            decision.messages.append(OutgoingMessage.of(plan, rec.contact, kind, text))
        else:
            decision.messages.extend(callout_messages(plan, rec.contact, kind, text, facts, merged.tasks, when))
    for pid, old in already.items():
        if pid in wanted:
            continue
        kind = "upgrade" if upgrade else "released"
        decision.messages.append(OutgoingMessage.of(plan, old.contact, kind, compose(
            plan, kind, old.contact.language, facts, old.tasks, when=when)))
        if kind == "released" and old.tasks:
            # Told to stand down: their group tasks end here, so no reminder repeats a task they were released from.
            decision.recipients[pid] = RecipientPlan(old.contact, [a for a in old.assignments if a.group is None])
    if upgrade:
        _extras(plan, roster, facts, duty_officer, {**already, **decision.recipients}, decision, when)
    decision.messages.extend(robot_messages(plan, "upgrade" if upgrade else "downgrade", wanted.values(), facts,
                                            when))
    return decision


def decide_end(plan: Plan, facts: IncidentFacts, told: Sequence[Contact], when: datetime) -> Decision:
    """Stand-down (应急结束): everyone who was told anything hears it is over."""
    decision = Decision()
    for contact in told:
        decision.messages.append(OutgoingMessage.of(plan, contact, "standdown", compose(
            plan, "standdown", contact.language, facts, when=when)))
    decision.messages.extend(robot_messages(plan, "standdown", (), facts, when))
    return decision
