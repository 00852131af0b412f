"""The duty officer's use cases: raise, upgrade, downgrade and end an alert.

Each runs in one transaction: the incident's state, its recipients, the outbox rows and the audit
event are written together or not at all. Sending happens later, from the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from responder.app.duty import duty_officer
from responder.app.escalation import plan_steps
from responder.app.incident_basis import load_open, sender_key, snapshot_columns, snapshot_of
from responder.app.ports import Context
from responder.domain.callout import Contact
from responder.domain.entry import check_text
from responder.domain.errors import Conflict, InputError, Problem
from responder.domain.incidents import Decision, decide_end, decide_level_change, decide_raise, incident_code
from responder.domain.messages import IncidentFacts, assess
from responder.domain.plan import Plan
from responder.domain.roster import Roster
from responder.domain.routes import provider_warnings, signed
from responder.domain.sms import Segments
from responder.storage import incidents as store
from responder.storage.escalation_steps import cancel_steps
from responder.storage.models import IncidentRow, RecipientRow

MAX_REASON = 300


@dataclass(frozen=True)
class PreviewText:
    kind: str
    language: str
    text: str
    segments: Segments
    recipients: int
    warnings: tuple[str, ...]


@dataclass
class Preview:
    hazard: str
    level: int
    groups: dict[str, int]
    people: int
    texts: list[PreviewText] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [w for t in self.texts for w in t.warnings]


@dataclass(frozen=True)
class Outcome:
    incident_id: int
    code: str
    level: int
    status: str
    recipients: int
    messages: int
    cancelled: int = 0


def check_level(level: int) -> None:
    if level not in (1, 2, 3, 4):
        raise InputError(Problem(f"unknown level {level}: warning levels are 4 (blue), 3 (yellow), 2 (orange), "
                                 "1 (red)", field="--level"))


def check_direction(incident: IncidentRow, level: int, verb: str) -> None:
    """``alert upgrade`` asks for a more severe level (a smaller number), ``downgrade`` for a less severe one."""
    if (verb == "upgrade") != (level < incident.level):
        asked, instead = ("an upgrade", "a downgrade") if verb == "upgrade" else ("a downgrade", "an upgrade")
        raise InputError(Problem(f"incident #{incident.id} is at level {incident.level}: level {level} would be "
                                 f"{instead}, not {asked} (1 is the most severe)", field="--level"))


def _check_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise InputError(Problem("a reason is required (what happened, which reading)", field="--reason"))
    if len(reason) > MAX_REASON:
        raise InputError(Problem(f"reason is {len(reason)} characters; at most {MAX_REASON} fit in an SMS call-out",
                                 field="--reason"))
    return check_text(reason, "--reason", MAX_REASON, what="reason")


def _check_messages(plan: Plan, decision: Decision) -> list[PreviewText]:
    """Group the distinct texts per language with segment counts; refuse any over a hard limit."""
    seen: dict[tuple[str, str, str], list[Any]] = {}
    assessed: dict[tuple[str, Any], Any] = {}  # the same text under the same limit: assessed once
    for msg in decision.messages:
        limit = plan.sms.limit_for(msg.contact.phone)
        shown = signed(plan.messaging, msg.contact.phone, msg.channel, msg.text)
        rendered = assessed.get((shown, limit))
        if rendered is None:
            rendered = assessed[(shown, limit)] = assess(plan, msg.contact.phone, shown, msg.contact.language)
        problems = provider_warnings(plan.messaging, msg.contact.phone, msg.kind, msg.channel, msg.fields)
        if problems:
            rendered = replace(rendered, warnings=(*rendered.warnings, *problems))
        key = (msg.kind, msg.contact.language, msg.text)
        if key in seen:
            seen[key][1] += 1
            seen[key][2].update(rendered.warnings)
        else:
            seen[key] = [rendered, 1, set(rendered.warnings)]
    texts = [PreviewText(k[0], k[1], k[2], v[0].segments, v[1], tuple(sorted(v[2]))) for k, v in seen.items()]
    texts.sort(key=lambda t: (t.kind, t.language, -t.recipients))
    return texts


def _refuse_over_limit(texts: list[PreviewText]) -> None:
    bad = [t for t in texts if t.warnings]
    if bad:
        worst = max(bad, key=lambda t: len(t.text))
        raise InputError(Problem(f"a {worst.kind} message in {worst.language} would be refused: "
                                 f"{'; '.join(worst.warnings)}. Shorten the reason.", field="--reason"))


def check_hazard(plan: Plan, hazard: str) -> None:
    if plan.hazard(hazard) is None:
        known = ", ".join(h.id for h in plan.hazards)
        raise InputError(Problem(f"unknown hazard {hazard!r} (the plan knows: {known})", field="--hazard"))


def _draft_raise(ctx: Context, hazard: str, level: int, reason: str, is_drill: bool,
                 session: Session) -> tuple[Plan, Roster, IncidentFacts, Decision, list[PreviewText]]:
    from responder.storage.people import load_roster

    plan = ctx.plan
    check_level(level)
    check_hazard(plan, hazard)
    reason = _check_reason(reason)
    roster = load_roster(session)
    if not roster.people:
        raise InputError(Problem("no people in the database: run `responder contacts import contacts/roster.csv`",
                                 field="roster"))
    taken = {row.code for row in store.open_incidents(session)}
    sequence = store.incident_count(session) + 1
    facts = IncidentFacts(incident_code(sequence, taken), hazard, level, reason, is_drill)
    decision = decide_raise(plan, roster, facts, duty_officer(ctx, roster, plan), ctx.clock.now())
    texts = _check_messages(plan, decision)
    return plan, roster, facts, decision, texts


def preview_raise(ctx: Context, hazard: str, level: int, reason: str, is_drill: bool = False) -> Preview:
    ctx.require_schema()
    is_drill = is_drill or ctx.settings.drill_mode
    with ctx.sessions() as session:
        _, _, _, decision, texts = _draft_raise(ctx, hazard, level, reason, is_drill, session)
    return Preview(hazard, level, decision.groups(), len(decision.recipients), texts)


CODE_ATTEMPTS = 5
"""Incidents raised at the same moment may draw the same reply code; the database refuses all but one."""


def raise_alert(ctx: Context, hazard: str, level: int, reason: str, by: str, is_drill: bool = False,
                evidence: dict[str, Any] | None = None) -> Outcome:
    """Declare a warning level: incident, snapshots, recipients, outbox and audit in one transaction."""
    ctx.require_schema()
    is_drill = is_drill or ctx.settings.drill_mode
    now = ctx.clock.now()
    for attempt in range(CODE_ATTEMPTS):
        try:
            return _raise_once(ctx, hazard, level, reason, by, is_drill, evidence, now)
        except IntegrityError as exc:
            with ctx.sessions() as session:
                existing = next((i for i in store.open_incidents(session)
                                 if i.hazard == hazard and i.is_drill == is_drill), None)
            if existing is not None:
                raise Conflict(f"a {hazard} incident is already open: #{existing.id} (code {existing.code}, "
                               f"level {existing.level}); it was raised at the same moment") from None
            if "open_code" not in str(exc.orig) or attempt == CODE_ATTEMPTS - 1:
                raise
            # Another incident (another hazard, a drill) took the same reply code at the same moment: draw again.
    raise AssertionError("unreachable")


def _raise_once(ctx: Context, hazard: str, level: int, reason: str, by: str, is_drill: bool,
                evidence: dict[str, Any] | None, now: datetime) -> Outcome:
    from responder.storage.db import transaction

    with transaction(ctx.sessions) as session:
        plan, roster, facts, decision, texts = _draft_raise(ctx, hazard, level, reason, is_drill, session)
        _refuse_over_limit(texts)
        existing = next((i for i in store.open_incidents(session)
                         if i.hazard == hazard and i.area == plan.area.id and i.is_drill == is_drill), None)
        if existing is not None:
            raise Conflict(f"a {hazard} incident is already open for {plan.area.id}: #{existing.id} "
                           f"(code {existing.code}, level {existing.level}); upgrade or end it instead")
        incident = IncidentRow(
            code=facts.code, hazard=hazard, area=plan.area.id, level=level, status="open", is_drill=is_drill,
            reason=facts.reason, raised_by=by, raised_at=now, level_changed_at=now,
            open_key=f"{plan.area.id}:{hazard}:{'drill' if is_drill else 'live'}", open_code=facts.code,
            **snapshot_columns(plan.model_dump(mode="json"), roster.to_list()),
        )
        store.add_incident(session, incident)
        store.save_recipients(session, incident.id, decision.recipients, level, now)
        queued = store.enqueue(session, incident.id, decision.messages, now, _deadline(ctx), sender_key(ctx))
        plan_steps(session, incident, plan, level, now)
        store.audit(session, now, by, "raised", f"{hazard} level {level} declared; {len(decision.recipients)} "
                    f"people called in {len(decision.groups())} groups", incident.id, facts.reason,
                    {"level": level, "hazard": hazard, "groups": decision.groups(), "is_drill": is_drill,
                     **({"trigger": evidence} if evidence else {})})
    return Outcome(incident.id, incident.code, level, "open", len(decision.recipients), queued)


def _deadline(ctx: Context) -> timedelta:
    return timedelta(seconds=ctx.settings.send_deadline_seconds)


def _draft_change(ctx: Context, session: Session, incident: IncidentRow, level: int, reason: str,
                  now: datetime) -> tuple[Plan, dict[str, Any], Decision]:
    """The decision an upgrade or downgrade would write: (the incident's plan, who was called already, decision)."""
    if level == incident.level:
        raise InputError(Problem(f"incident #{incident.id} is already at level {level}", field="--level"))
    plan, roster = snapshot_of(incident)
    facts = IncidentFacts(incident.code, incident.hazard, level, reason, incident.is_drill, incident.level)
    already = store.recipient_plans(store.recipients_of(session, incident.id))
    return plan, already, decide_level_change(plan, roster, facts, already, duty_officer(ctx, roster, plan), now)


def preview_change(ctx: Context, incident_id: int, level: int, reason: str) -> Preview:
    """What ``change_level`` would send, written nowhere: groups, people, each distinct text with its segments."""
    check_level(level)
    reason = _check_reason(reason)
    ctx.require_schema()
    with ctx.sessions() as session:
        incident = load_open(session, incident_id, for_update=False)
        plan, _, decision = _draft_change(ctx, session, incident, level, reason, ctx.clock.now())
        return Preview(incident.hazard, level, decision.groups(), len(decision.recipients),
                       _check_messages(plan, decision))


def change_level(ctx: Context, incident_id: int, level: int, reason: str, by: str,
                 evidence: dict[str, Any] | None = None) -> Outcome:
    """Upgrade or downgrade an open incident."""
    from responder.storage.db import transaction

    check_level(level)
    reason = _check_reason(reason)
    ctx.require_schema()
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        incident = load_open(session, incident_id)
        plan, already, decision = _draft_change(ctx, session, incident, level, reason, now)
        _refuse_over_limit(_check_messages(plan, decision))
        verb = "upgraded" if level < incident.level else "downgraded"
        store.save_recipients(session, incident.id, decision.recipients, level, now)
        queued = store.enqueue(session, incident.id, decision.messages, now, _deadline(ctx), sender_key(ctx))
        store.audit(session, now, by, verb, f"level {incident.level} → {level}; {len(decision.messages)} messages",
                    incident.id, reason, {"from": incident.level, "to": level, "groups": decision.groups(),
                                          **({"trigger": evidence} if evidence else {})})
        old = incident.level
        incident.level, incident.level_changed_at = level, now
        plan_steps(session, incident, plan, level, now)
        count = len(already) + len([p for p in decision.recipients if p not in already])
    return Outcome(incident.id, incident.code, level, f"{verb} from {old}", count, queued)


def _end_decision(session: Session, incident: IncidentRow, recipients: Sequence[RecipientRow], reason: str,
                  now: datetime) -> tuple[Plan, Decision]:
    """The stand-down messages: everyone handed a message so far is told (run after cancelling what is unsent)."""
    plan, _ = snapshot_of(incident)
    told = store.told_person_ids(session, incident.id)
    contacts = [Contact(r.person_id, r.name, r.phone, r.language) for r in recipients if r.person_id in told]
    facts = IncidentFacts(incident.code, incident.hazard, incident.level, reason, incident.is_drill)
    return plan, decide_end(plan, facts, contacts, now)


def preview_end(ctx: Context, incident_id: int, reason: str) -> Preview:
    """What ``end_alert`` would send, written nowhere (the messages not yet sent would be cancelled instead)."""
    reason = _check_reason(reason)
    ctx.require_schema()
    with ctx.sessions() as session:
        incident = load_open(session, incident_id, for_update=False)
        plan, decision = _end_decision(session, incident, store.recipients_of(session, incident.id), reason,
                                       ctx.clock.now())
        people = len({m.contact.id for m in decision.messages})
        return Preview(incident.hazard, incident.level, {}, people, _check_messages(plan, decision))


def end_alert(ctx: Context, incident_id: int, reason: str, by: str) -> Outcome:
    """Stand-down (应急结束): cancel what was not sent, tell everyone who was told anything."""
    from responder.storage.db import transaction

    reason = _check_reason(reason)
    ctx.require_schema()
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        incident = load_open(session, incident_id)
        cancelled = store.cancel_pending(session, incident.id, now)
        steps = cancel_steps(session, incident.id, now, f"stand-down by {by}")
        recipients = store.recipients_of(session, incident.id)
        _, decision = _end_decision(session, incident, recipients, reason, now)
        queued = store.enqueue(session, incident.id, decision.messages, now, _deadline(ctx), sender_key(ctx))
        store.audit(session, now, by, "ended", f"stand-down; {queued} told, {cancelled} unsent messages and {steps} "
                    "escalation steps cancelled", incident.id, reason,
                    {"level": incident.level, "cancelled": cancelled, "steps_cancelled": steps})
        incident.status, incident.ended_at, incident.open_key, incident.open_code = "ended", now, None, None
    return Outcome(incident.id, incident.code, incident.level, "ended", len(recipients), queued, cancelled)
