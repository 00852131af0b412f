"""Escalation: scheduled in the database when a level is declared, executed at most once per step.

A step is claimed by flipping its row from 'pending' in the same transaction that writes its
messages, so a late, repeated or concurrent run (two workers, a restart, a sweep) does nothing
the second time. Steps also check that their incident is still open at the same level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, Row, Table, and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from responder.app.ports import Context
from responder.domain.callout import Contact, chain_contacts, group_heads
from responder.domain.escalation import Pending, names_list, previous_chain_step, schedule, targets
from responder.domain.incidents import Assignment, OutgoingMessage, calls_to_confirm
from responder.domain.messages import IncidentFacts, Task, compose
from responder.domain.plan import Plan, pick
from responder.domain.roster import Roster
from responder.domain.types import Role
from responder.storage import incidents as store
from responder.storage.db import reading, transaction
from responder.storage.models import AcknowledgementRow, EscalationStepRow, IncidentRow, RecipientRow

REMINDER_KINDS = ("callout", "resend", "voice", "evacuation", "inform_chain", "escalate_group", "escalate_chain")
"""What a confirmation cancels for that person; level changes and the stand-down still go out."""

# Built once: run_due runs on every turn of a drill's loop and cancel_reminders on every confirmation, where
# building a statement costs more than running it.
_STEPS, _OUTBOX = cast(Table, EscalationStepRow.__table__), store.OUTBOX
_DUE = select(_STEPS.c.id).where(_STEPS.c.status == "pending", _STEPS.c.due_at <= bindparam("now")) \
    .order_by(_STEPS.c.due_at, _STEPS.c.id).limit(bindparam("limit", type_=Integer))


def pending_reminders(incident_id: ColumnElement[int], person_id: ColumnElement[str]) -> ColumnElement[bool]:
    """The outbox rows a confirmation cancels."""
    return and_(_OUTBOX.c.incident_id == incident_id, _OUTBOX.c.person_id == person_id,
                _OUTBOX.c.status == "pending", store.one_of(_OUTBOX.c.kind, REMINDER_KINDS))


_CANCEL_REMINDERS = update(_OUTBOX).where(pending_reminders(bindparam("incident"), bindparam("person"))) \
    .values(status="cancelled", final_at=bindparam("now"))
_RECIPIENTS = store.RECIPIENTS
_UNCONFIRMED = select(_RECIPIENTS.c.person_id, _RECIPIENTS.c.name, _RECIPIENTS.c.phone, _RECIPIENTS.c.language,
                      _RECIPIENTS.c.assignments).where(_RECIPIENTS.c.incident_id == bindparam("incident_id"),
                                                       _RECIPIENTS.c.confirmed_at.is_(None)) \
    .order_by(_RECIPIENTS.c.id)
"""What a step needs of the people it is about: late in a call-out most have confirmed, and loading (and
parsing the tasks of) thousands of recipients as ORM objects took most of a step's time."""
_ALREADY_CALLED = select(_RECIPIENTS.c.person_id).where(_RECIPIENTS.c.incident_id == bindparam("incident_id"),
                                                        _RECIPIENTS.c.person_id.in_(bindparam("ids", expanding=True)))


def plan_steps(session: Session, incident: IncidentRow, plan: Plan, level: int, now: datetime) -> int:
    """Replace the schedule: cancel steps of other levels, add this level's (idempotent).

    Back at a level the incident had before (2 → 1 → 2), the level's steps that never ran (cancelled by the
    first change) are planned again from now; the ones that ran stay done. One row per step: the unique key and
    the messages' dedupe keys (``esc:{step id}:…``) keep a step from ever running twice.
    """
    session.execute(update(EscalationStepRow).where(
        EscalationStepRow.incident_id == incident.id, EscalationStepRow.status == "pending",
        EscalationStepRow.level != level).values(status="cancelled", done_at=now, done_by="level change"))
    existing = {(rnd, index): (step_id, status) for step_id, rnd, index, status in session.execute(
        select(EscalationStepRow.id, EscalationStepRow.round, EscalationStepRow.step_index, EscalationStepRow.status)
        .where(EscalationStepRow.incident_id == incident.id, EscalationStepRow.level == level))}
    rows: list[dict[str, Any]] = []
    replanned = 0
    for s in schedule(plan, level, now):
        found = existing.get((s.round, s.step_index))
        if found is None:
            rows.append(dict(incident_id=incident.id, level=s.level, round=s.round, step_index=s.step_index,
                             action=s.action, chain_step=s.chain_step, due_at=s.due_at, status="pending", result={}))
        elif found[1] == "cancelled":  # never ran (cancelled steps queue no messages): plan it again
            session.execute(update(EscalationStepRow).where(
                EscalationStepRow.id == found[0], EscalationStepRow.status == "cancelled")
                .values(status="pending", due_at=s.due_at, done_at=None, done_by=None, result={}))
            replanned += 1
    if rows:
        session.execute(insert(EscalationStepRow), rows)
    return len(rows) + replanned


def cancel_steps(session: Session, incident_id: int, now: datetime, why: str) -> int:
    result = session.execute(update(EscalationStepRow).where(
        EscalationStepRow.incident_id == incident_id, EscalationStepRow.status == "pending")
        .values(status="cancelled", done_at=now, done_by=why))
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StepOutcome:
    step_id: int
    incident_id: int
    action: str
    status: str
    messages: int
    detail: str


def run_step(ctx: Context, step_id: int, actor: str = "scheduler", force: bool = False) -> StepOutcome | None:
    """Execute one step if it is still pending and due (or ``force``); None if someone else did it."""
    from responder.app.duty import duty_officer
    from responder.app.incident_basis import sender_key, snapshot_of

    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        query = select(EscalationStepRow).where(EscalationStepRow.id == step_id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        step = session.scalar(query)
        if step is None or step.status != "pending" or (not force and step.due_at > now):
            return None
        incident = session.get(IncidentRow, step.incident_id)
        assert incident is not None
        if incident.status != "open" or incident.level != step.level:
            step.status, step.done_at, step.done_by = "cancelled", now, f"{actor}: stale"
            step.result = {"why": "the incident ended or changed level since this step was planned"}
            return StepOutcome(step.id, incident.id, step.action, "cancelled", 0, "stale")
        plan, roster = snapshot_of(incident)
        officer = duty_officer(ctx, roster, plan)
        pending_rows = {r.person_id: r for r in session.connection().execute(_UNCONFIRMED,
                                                                              {"incident_id": incident.id})}
        unconfirmed = [Pending(r.person_id, r.name, groups) for r in pending_rows.values()
                       if (groups := tuple(a["group"] for a in r.assignments if a.get("group")))]
        facts = IncidentFacts(incident.code, incident.hazard, incident.level, incident.reason, incident.is_drill)
        status, detail, messages = _messages_for(session, plan, roster, incident, step, facts, unconfirmed,
                                                 pending_rows, officer, now)
        keys = [f"esc:{step.id}:{m.contact.id}" for m in messages]
        queued = store.enqueue(session, incident.id, messages, now,
                               timedelta(seconds=ctx.settings.send_deadline_seconds), sender_key(ctx), dedupe=keys)
        step.status, step.done_at, step.done_by = status, now, actor
        step.result = {"messages": queued, "detail": detail, "to": sorted({m.contact.id for m in messages})}
        store.audit(session, now, actor, "escalation" if status == "done" else "escalation_skipped",
                    f"{step.action}{' ' + step.chain_step if step.chain_step else ''} (round {step.round + 1}): "
                    f"{detail}", incident.id, None,
                    {"step_id": step.id, "action": step.action, "chain_step": step.chain_step, "round": step.round,
                     "due_at": step.due_at.isoformat(), "messages": queued,
                     "unconfirmed": [p.person_id for p in unconfirmed]})
    return StepOutcome(step_id, incident.id, step.action, status, queued, detail)


def _messages_for(session: Session, plan: Plan, roster: Roster, incident: IncidentRow, step: EscalationStepRow,
                  facts: IncidentFacts, unconfirmed: list[Pending], by_id: dict[str, Row[*tuple[Any, ...]]],
                  officer: Any, now: datetime) -> tuple[str, str, list[OutgoingMessage]]:
    """``by_id``: the unconfirmed recipients (``_UNCONFIRMED`` rows) by person."""
    if not unconfirmed:
        return "skipped", "everyone has confirmed", []
    who = targets(step.action, unconfirmed)
    out: list[OutgoingMessage] = []
    if step.action in ("resend_sms", "voice_call"):
        for pid in who.reminders:
            r = by_id[pid]
            # Someone with no SMS reply channel (the route confirms by voice) is reminded by another call: 叫应.
            by_voice = step.action == "voice_call" or calls_to_confirm(plan, r.phone) != "reply"
            kind, channel = ("voice", "voice") if by_voice else ("resend", "sms")
            template = "voice" if by_voice else "callout"
            tasks = [t for a in r.assignments if (t := Assignment.from_dict(a).as_task()) is not None]
            text = compose(plan, template, r.language, facts, tasks, when=now)
            out.append(OutgoingMessage.of(plan, Contact(r.person_id, r.name, r.phone, r.language), kind, text, channel))
        channel = "sms" if step.action == "resend_sms" else "voice"
        return "done", f"{len(out)} people reminded by {channel}", out
    if step.action in ("notify_group_deputy", "notify_group_leader"):
        role = Role.DEPUTY if step.action == "notify_group_deputy" else Role.LEADER
        missing_groups = []
        for group, members in who.group_reports.items():
            heads = roster.members(group, [role]) or group_heads(roster, group)
            if not heads:
                missing_groups.append(group)
            for head in heads:
                contact = Contact.of(head)
                names = names_list([m.name for m in members if m.person_id != head.id], contact.language)
                count = len([m for m in members if m.person_id != head.id])
                if count == 0:
                    continue
                text = compose(plan, "escalate_group", contact.language, facts,
                               [Task(group, {}, {})], {"names": names, "count": str(count)}, when=now)
                out.append(OutgoingMessage.of(plan, contact, "escalate_group", text))
        title = "deputies" if role == Role.DEPUTY else "leaders"
        detail = f"{len(out)} group {title} told of {len(unconfirmed)} unconfirmed"
        if missing_groups:
            detail += f"; no {role.value} for {', '.join(missing_groups)}"
        return "done", detail, _one_per_contact(out)
    if step.action == "notify_chain" and step.chain_step:
        previous = previous_chain_step(plan, step.level, step.step_index)
        if previous and _rung_answered(session, plan, roster, incident, step, previous, officer):
            return "skipped", f"{previous} answered: {step.chain_step} not needed", []
        contacts = chain_contacts(plan, roster, step.chain_step, officer)
        called = set(session.connection().scalars(_ALREADY_CALLED, {"incident_id": incident.id,
                                                                     "ids": [c.id for c in contacts]}))
        for contact in contacts:
            others = [p.name for p in who.chain_report if p.person_id != contact.id]
            if not others:
                continue
            text = compose(plan, "escalate_chain", contact.language, facts,
                           extras={"names": names_list(others, contact.language), "count": str(len(others))}, when=now)
            out.append(OutgoingMessage.of(plan, contact, "escalate_chain", text))
            if contact.id not in called:  # outsiders (the county) become recipients so they can confirm
                session.execute(insert(RecipientRow).values(
                    incident_id=incident.id, person_id=contact.id, name=contact.name, phone=contact.phone,
                    language=contact.language, assignments=[{"chain": step.chain_step}], called_at=now,
                    called_level=incident.level))
                called.add(contact.id)
        rung = plan.chain_step(step.chain_step)
        label = pick(rung.name, plan.default_language) if rung else step.chain_step
        return "done", f"{label} told of {len(who.chain_report)} unconfirmed", out
    return "skipped", f"nothing to do for {step.action}", []


def _one_per_contact(messages: list[OutgoingMessage]) -> list[OutgoingMessage]:
    """A person heading two groups gets one message per group, but never the same text twice."""
    seen: set[tuple[str, str]] = set()
    out = []
    for m in messages:
        if (m.contact.id, m.text) not in seen:
            seen.add((m.contact.id, m.text))
            out.append(m)
    return out


def _rung_answered(session: Session, plan: Plan, roster: Roster, incident: IncidentRow, step: EscalationStepRow,
                   rung: str, officer: Any) -> bool:
    """Did anyone on the previous rung acknowledge after being told?"""
    earlier = session.scalar(select(EscalationStepRow).where(
        EscalationStepRow.incident_id == incident.id, EscalationStepRow.level == step.level,
        EscalationStepRow.round == step.round, EscalationStepRow.chain_step == rung,
        EscalationStepRow.status == "done"))
    if earlier is None or earlier.done_at is None:
        return False
    ids = [c.id for c in chain_contacts(plan, roster, rung, officer)]
    ack = session.scalar(select(AcknowledgementRow.id).where(
        AcknowledgementRow.incident_id == incident.id, AcknowledgementRow.person_id.in_(ids),
        AcknowledgementRow.at >= earlier.done_at).limit(1))
    return ack is not None


def run_due(ctx: Context, actor: str = "scheduler", limit: int = 500) -> list[StepOutcome]:
    """Run every step due now, oldest first: the safety net behind the scheduler's timed jobs."""
    with reading(ctx.engine) as conn:  # no Session: nothing here is an ORM object
        ids = list(conn.scalars(_DUE, {"now": ctx.clock.now(), "limit": limit}))
    return [o for sid in ids if (o := run_step(ctx, sid, actor)) is not None]


def next_step(session: Session, incident_id: int) -> EscalationStepRow | None:
    return session.scalar(select(EscalationStepRow).where(
        EscalationStepRow.incident_id == incident_id, EscalationStepRow.status == "pending")
        .order_by(EscalationStepRow.due_at, EscalationStepRow.id).limit(1))


def escalate_now(ctx: Context, incident_id: int, by: str) -> StepOutcome | None:
    """`alert escalate`: run the next pending step now, whatever its time."""
    from responder.app.incident_basis import load_open

    with ctx.sessions() as session:
        load_open(session, incident_id, for_update=False)
        step = next_step(session, incident_id)
    if step is None:
        return None
    return run_step(ctx, step.id, actor=by, force=True)


def pending_steps(ctx: Context) -> list[tuple[int, datetime]]:
    with ctx.sessions() as session:
        return [(i, d) for i, d in session.execute(select(EscalationStepRow.id, EscalationStepRow.due_at).where(
            EscalationStepRow.status == "pending"))]


def cancel_reminders(db: store.Db, incident_id: int, person_id: str, now: datetime) -> int:
    """Cancel the person's reminders still waiting (within the caller's transaction); how many."""
    params = {"incident": incident_id, "person": person_id, "now": now}
    return store.connection_of(db).execute(_CANCEL_REMINDERS, params).rowcount
