"""Escalation: scheduled in the database when a level is declared, executed at most once per step.

A step is claimed by flipping its row from 'pending' in the same transaction that writes its
messages, so a late, repeated or concurrent run (two workers, a restart, a sweep) does nothing
the second time. Steps also check that their incident is still open at the same level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from responder.app.ports import Context
from responder.domain.callout import Contact, chain_contacts, group_heads
from responder.domain.escalation import Pending, names_list, previous_chain_step, schedule, targets
from responder.domain.incidents import Assignment, OutgoingMessage
from responder.domain.messages import IncidentFacts, Task, compose
from responder.domain.plan import Plan, pick
from responder.domain.roster import Roster
from responder.domain.routes import confirm_by
from responder.domain.types import Role
from responder.storage import escalation_steps as steps
from responder.storage import incidents as store
from responder.storage.db import reading, transaction
from responder.storage.models import EscalationStepRow, IncidentRow


def plan_steps(session: Session, incident: IncidentRow, plan: Plan, level: int, now: datetime) -> int:
    """Replace the schedule: cancel steps of other levels, add this level's (idempotent).

    Back at a level the incident had before (2 → 1 → 2), the level's steps that never ran (cancelled by the
    first change) are planned again from now; the ones that ran stay done. One row per step: the unique key and
    the messages' dedupe keys (``esc:{step id}:…``) keep a step from ever running twice.
    """
    return steps.replace_schedule(session, incident.id, level, schedule(plan, level, now), now)


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
        step = steps.claim(session, step_id)
        if step is None or step.status != "pending" or (not force and step.due_at > now):
            return None
        incident = store.incident(session, step.incident_id)
        assert incident is not None
        if incident.status != "open" or incident.level != step.level:
            step.status, step.done_at, step.done_by = "cancelled", now, f"{actor}: stale"
            step.result = {"why": "the incident ended or changed level since this step was planned"}
            return StepOutcome(step.id, incident.id, step.action, "cancelled", 0, "stale")
        plan, roster = snapshot_of(incident)
        officer = duty_officer(ctx, roster, plan)
        pending_rows = {r.person_id: r for r in steps.unconfirmed(session.connection(), incident.id)}
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
    """``by_id``: the unconfirmed recipients (``steps.unconfirmed`` rows) by person."""
    if not unconfirmed:
        return "skipped", "everyone has confirmed", []
    who = targets(step.action, unconfirmed)
    out: list[OutgoingMessage] = []
    if step.action in ("resend_sms", "voice_call"):
        for pid in who.reminders:
            r = by_id[pid]
            # Someone with no SMS reply channel (the route confirms by voice) is reminded by another call: 叫应.
            by_voice = step.action == "voice_call" or confirm_by(plan.messaging, r.phone) != "reply"
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
        called = steps.already_called(session.connection(), incident.id, [c.id for c in contacts])
        for contact in contacts:
            others = [p.name for p in who.chain_report if p.person_id != contact.id]
            if not others:
                continue
            text = compose(plan, "escalate_chain", contact.language, facts,
                           extras={"names": names_list(others, contact.language), "count": str(len(others))}, when=now)
            out.append(OutgoingMessage.of(plan, contact, "escalate_chain", text))
            if contact.id not in called:  # outsiders (the county) become recipients so they can confirm
                steps.add_chain_recipient(session, incident.id, incident.level, step.chain_step, contact.id,
                                          contact.name, contact.phone, contact.language, now)
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
    earlier = steps.done_in_round(session, incident.id, step.level, step.round, rung)
    if earlier is None or earlier.done_at is None:
        return False
    ids = [c.id for c in chain_contacts(plan, roster, rung, officer)]
    return steps.acknowledged_since(session, incident.id, ids, earlier.done_at)


def run_due(ctx: Context, actor: str = "scheduler", limit: int = 500) -> list[StepOutcome]:
    """Run every step due now, oldest first: the safety net behind the scheduler's timed jobs."""
    with reading(ctx.engine) as conn:  # no Session: nothing here is an ORM object
        ids = steps.due_step_ids(conn, ctx.clock.now(), limit)
    return [o for sid in ids if (o := run_step(ctx, sid, actor)) is not None]


def next_step(session: Session, incident_id: int) -> EscalationStepRow | None:
    return steps.next_pending(session, incident_id)


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
        return steps.pending_due_times(session)
