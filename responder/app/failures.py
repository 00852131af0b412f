"""Permanent delivery failures are told once, as a summary, to group heads and the duty officer."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from responder.app.duty import duty_officer
from responder.app.incident_basis import sender_key, snapshot_of
from responder.app.ports import Context
from responder.domain.callout import Contact, group_heads
from responder.domain.incidents import OutgoingMessage
from responder.domain.messages import IncidentFacts, compose
from responder.storage import failure_reports, outbox
from responder.storage import incidents as store
from responder.storage.db import reading, transaction
from responder.storage.models import IncidentRow, OutboxRow

SETTLE = timedelta(seconds=60)
"""Wait this long for the rest of a call-out to settle before summarising, unless it is all done."""

def report_failures(ctx: Context) -> int:
    """Summarise unreported permanent failures per incident; returns how many summaries were queued."""
    with reading(ctx.engine) as conn:
        if not failure_reports.any_unreported(conn):
            return 0
    now = ctx.clock.now()
    queued = 0
    with transaction(ctx.sessions) as session:
        failed = failure_reports.unreported(session)
        by_incident: dict[int, list[OutboxRow]] = defaultdict(list)
        for row in failed:
            assert row.incident_id is not None
            by_incident[row.incident_id].append(row)
        for incident_id, rows in by_incident.items():
            oldest = min(r.final_at or now for r in rows)
            if failure_reports.still_going(session, incident_id) and now - oldest < SETTLE:
                continue
            # Claimed first: another worker summarising the same failures at the same time claims none of them.
            ours = outbox.claim_failure_reports(session, [r.id for r in rows])
            rows = [r for r in rows if r.id in ours]
            if not rows:
                continue
            incident = store.incident(session, incident_id)
            assert incident is not None
            queued += _summarise(ctx, session, incident, rows)
    return queued


def _summarise(ctx: Context, session: object, incident: IncidentRow, rows: list[OutboxRow]) -> int:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    now = ctx.clock.now()
    plan, roster = snapshot_of(incident)
    failed_ids = {r.person_id for r in rows if r.person_id}
    recipients = {r.person_id: r for r in failure_reports.people(session, incident.id, failed_ids)}
    names = {pid: recipients[pid].name if pid in recipients else pid for pid in failed_ids}
    # Each head hears about the failed members of their own groups.
    per_head: dict[str, set[str]] = defaultdict(set)
    heads: dict[str, Contact] = {}
    for pid in failed_ids:
        rec = recipients.get(pid)
        for a in rec.assignments if rec else []:
            if not a.get("group"):
                continue
            for head in group_heads(roster, a["group"], exclude=failed_ids):
                per_head[head.id].add(pid)
                heads[head.id] = Contact.of(head)
    officer = duty_officer(ctx, roster, plan)
    if officer is not None and officer.id not in failed_ids:
        per_head[officer.id] |= failed_ids
        heads[officer.id] = Contact.of(officer)
    facts = IncidentFacts(incident.code, incident.hazard, incident.level, incident.reason, incident.is_drill)
    messages = []
    for head_id, members in per_head.items():
        contact = heads[head_id]
        listed = "、".join(sorted(names[m] for m in members)) if contact.language == "zh" else ", ".join(
            sorted(names[m] for m in members))
        text = compose(plan, "failure_summary", contact.language, facts,
                       extras={"names": listed, "count": str(len(members))}, when=now)
        messages.append(OutgoingMessage.of(plan, contact, "failure_summary", text))
    store.enqueue(session, incident.id, messages, now, timedelta(seconds=ctx.settings.send_deadline_seconds),
                  sender_key(ctx))
    store.audit(session, now, "dispatcher", "delivery_failed",
                f"{len(failed_ids)} people unreachable by SMS: {', '.join(sorted(names.values()))}", incident.id,
                None, {"people": sorted(failed_ids),
                       "errors": {str(r.person_id): f"{r.error_code or ''} {r.error_message or ''}".strip()
                                  for r in rows},
                       "told": sorted(per_head)})
    return len(messages)
