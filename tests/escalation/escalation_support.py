"""Helpers of the escalation tests (imported by the test modules next to it; not a test module itself).

Expected times come straight from ``config/plan.yaml`` (read with PyYAML by ``alerts_support.raw_plan``), not from
the production code's plan model, so that the tests check the code against the plan.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from responder.storage.models import (
    AcknowledgementRow,
    AuditEventRow,
    EscalationStepRow,
    InboundMessageRow,
    OutboxRow,
    RecipientRow,
)
from responder.wiring import AppContext

REASON = "龙河水位超警戒线0.5米"
OFFICER = "李乙 (O002)"
OUR_NUMBER = "+8617400000001"
COUNTY = "ext:+8617400009999"
T0 = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)
"""Where the ``clock`` fixture starts (tests/conftest.py SEASON_START): 09:00 local, 1 July, in the flood season."""
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """'10m', '1h', '1h30m' as the plan writes them (parsed here, independently of responder.domain.types)."""
    parts = re.findall(r"(\d+)([smhd])", text)
    assert "".join(n + u for n, u in parts) == text, text
    return timedelta(seconds=sum(int(n) * UNITS[u] for n, u in parts))


def policy(raw: dict[str, Any], level: int) -> dict[str, Any]:
    return dict(next(p for p in raw["escalation_policy"] if p["level"] == level))


def expected_schedule(raw: dict[str, Any], level: int) -> list[tuple[int, int, str, str | None, timedelta]]:
    """(round, index, action, chain step, offset from the call-out) for every step the plan asks for."""
    p = policy(raw, level)
    out = []
    for rnd in range(p.get("repeat", 0) + 1):
        shift = duration(p.get("repeat_every", "30m")) * rnd
        for index, step in enumerate(p.get("steps", [])):
            out.append((rnd, index, step["action"], step.get("chain_step"), duration(step["after"]) + shift))
    return out


# -- reading the database -------------------------------------------------------------------------------------------
def steps_of(ctx: AppContext, incident_id: int) -> list[EscalationStepRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(EscalationStepRow).where(EscalationStepRow.incident_id == incident_id)
                                    .order_by(EscalationStepRow.due_at, EscalationStepRow.id)))


def outbox_rows(ctx: AppContext, incident_id: int | None = None, *, person: str | None = None,
                kind: str | None = None) -> list[OutboxRow]:
    with ctx.sessions() as session:
        query = select(OutboxRow).order_by(OutboxRow.id)
        if incident_id is not None:
            query = query.where(OutboxRow.incident_id == incident_id)
        if person is not None:
            query = query.where(OutboxRow.person_id == person)
        if kind is not None:
            query = query.where(OutboxRow.kind == kind)
        return list(session.scalars(query))


def recipient(ctx: AppContext, incident_id: int, person: str) -> RecipientRow:
    with ctx.sessions() as session:
        row = session.scalar(select(RecipientRow).where(RecipientRow.incident_id == incident_id,
                                                        RecipientRow.person_id == person))
    assert row is not None, person
    return row


def recipients(ctx: AppContext, incident_id: int) -> list[RecipientRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(RecipientRow).where(RecipientRow.incident_id == incident_id)
                                    .order_by(RecipientRow.id)))


def phone_of(ctx: AppContext, incident_id: int, person: str) -> str:
    return recipient(ctx, incident_id, person).phone


def acknowledgements(ctx: AppContext, incident_id: int | None = None) -> list[AcknowledgementRow]:
    with ctx.sessions() as session:
        query = select(AcknowledgementRow).order_by(AcknowledgementRow.id)
        if incident_id is not None:
            query = query.where(AcknowledgementRow.incident_id == incident_id)
        return list(session.scalars(query))


def audit(ctx: AppContext, incident_id: int, *kinds: str) -> list[AuditEventRow]:
    with ctx.sessions() as session:
        query = select(AuditEventRow).where(AuditEventRow.incident_id == incident_id).order_by(AuditEventRow.id)
        if kinds:
            query = query.where(AuditEventRow.kind.in_(kinds))
        return list(session.scalars(query))


def inbound_rows(ctx: AppContext) -> list[InboundMessageRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(InboundMessageRow).order_by(InboundMessageRow.id)))


def grouped(rows: list[RecipientRow]) -> dict[str, list[RecipientRow]]:
    """group id → the recipients called for it."""
    out: dict[str, list[RecipientRow]] = {}
    for r in rows:
        for a in r.assignments:
            if a.get("group"):
                out.setdefault(a["group"], []).append(r)
    return out


def after(rows: list[OutboxRow], when: datetime) -> list[OutboxRow]:
    return [r for r in rows if r.created_at > when]
