"""Large call-outs are written in bulk (COPY on PostgreSQL): the rows must read back exactly as single INSERTs would
write them, inside the caller's transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alerts_support import row_counts
from sqlalchemy import select

from responder.domain.callout import Contact
from responder.domain.incidents import Assignment, OutgoingMessage, RecipientPlan
from responder.storage import incidents as store
from responder.storage.db import transaction
from responder.storage.models import IncidentRow, OutboxRow, RecipientRow
from responder.wiring import AppContext

MANY = store.COPY_FROM + 50


def contact(n: int) -> Contact:
    return Contact(f"P{n:04d}", f"队员{n}" if n % 2 else f"O'Brien \"{n}\"\t\\", f"+86174015{n:05d}",
                   "zh" if n % 2 else "en")


def new_incident(ctx: AppContext) -> int:
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        row = IncidentRow(code="B1", hazard="flood", area="sanjian", level=2, status="open", is_drill=False,
                          reason="bulk", raised_by="test", raised_at=now, level_changed_at=now, open_key=None,
                          open_code=None, plan_snapshot={}, roster_snapshot=[])
        session.add(row)
        session.flush()
        return row.id


def test_many_rows_read_back_exactly(ctx: AppContext) -> None:
    incident = new_incident(ctx)
    now = ctx.clock.now()
    task = Assignment(group="rescue", role="member", task={"zh": "到现场", "en": "go"}, report_to={"zh": "桥头"})
    plans = {contact(n).id: RecipientPlan(contact(n), [task, Assignment(zone="schools")] if n % 3 else [])
             for n in range(MANY)}
    messages = [OutgoingMessage(contact(n), "callout", f"【三建乡】{n} 回复 1 B1 确认\n第二行 \\ \t end")
                for n in range(MANY)]
    with transaction(ctx.sessions) as session:
        store.save_recipients(session, incident, plans, 2, now)
        assert store.enqueue(session, incident, messages, now, timedelta(minutes=15), "MG123",
                             dedupe=[f"k{n}" if n % 2 else None for n in range(MANY)]) == MANY

    with ctx.sessions() as session:
        recipients = {r.person_id: r for r in session.scalars(select(RecipientRow))}
        rows = {r.person_id: r for r in session.scalars(select(OutboxRow).order_by(OutboxRow.id))}
    assert len(recipients) == len(rows) == MANY
    for n in range(MANY):
        c = contact(n)
        r = recipients[c.id]
        assert (r.name, r.phone, r.language, r.called_level, r.called_at) == (c.name, c.phone, c.language, 2, now)
        assert r.called_at.tzinfo is not None and r.confirmed_at is None
        assert r.assignments == [a.to_dict() for a in plans[c.id].assignments]
        o = rows[c.id]
        assert (o.incident_id, o.to_number, o.body, o.language, o.kind, o.channel, o.sender) == (
            incident, c.phone, messages[n].text, c.language, "callout", "sms", "MG123")
        assert (o.status, o.attempts, o.failure_reported, o.sid) == ("pending", 0, False, None)
        assert (o.created_at, o.due_at, o.deadline_at) == (now, now, now + timedelta(minutes=15))
        assert o.dedupe_key == (f"k{n}" if n % 2 else None)
    assert [r.id for r in rows.values()] == sorted(r.id for r in rows.values()), "ids in message order"


def test_a_bulk_write_is_part_of_the_callers_transaction(ctx: AppContext) -> None:
    incident = new_incident(ctx)
    before = row_counts(ctx)
    messages = [OutgoingMessage(contact(n), "callout", "x") for n in range(MANY)]
    with pytest.raises(RuntimeError), transaction(ctx.sessions) as session:
        store.enqueue(session, incident, messages, ctx.clock.now(), timedelta(minutes=15), "default")
        raise RuntimeError("the decision fails after the outbox was written")
    assert row_counts(ctx) == before
