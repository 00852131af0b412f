"""Escalation steps as stored, and what a step reads and writes: the people still unconfirmed, the reminders a
confirmation cancels, outsiders added as recipients. Statements on hot paths are built once: ``due_step_ids`` runs
on every turn of a drill's loop and ``cancel_reminders`` on every confirmation, where building a statement costs
more than running it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Integer, Row, Table, and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from responder.domain.escalation import REMINDER_KINDS, PlannedStep
from responder.storage import incidents as store
from responder.storage.db import locked
from responder.storage.models import AcknowledgementRow, EscalationStepRow, RecipientRow

_STEPS, _OUTBOX, _RECIPIENTS = cast(Table, EscalationStepRow.__table__), store.OUTBOX, store.RECIPIENTS
_DUE = select(_STEPS.c.id).where(_STEPS.c.status == "pending", _STEPS.c.due_at <= bindparam("now")) \
    .order_by(_STEPS.c.due_at, _STEPS.c.id).limit(bindparam("limit", type_=Integer))


def pending_reminders(incident_id: ColumnElement[int], person_id: ColumnElement[str]) -> ColumnElement[bool]:
    """The outbox rows a confirmation cancels."""
    return and_(_OUTBOX.c.incident_id == incident_id, _OUTBOX.c.person_id == person_id,
                _OUTBOX.c.status == "pending", store.one_of(_OUTBOX.c.kind, REMINDER_KINDS))


_CANCEL_REMINDERS = update(_OUTBOX).where(pending_reminders(bindparam("incident"), bindparam("person"))) \
    .values(status="cancelled", final_at=bindparam("now"))
_UNCONFIRMED = select(_RECIPIENTS.c.person_id, _RECIPIENTS.c.name, _RECIPIENTS.c.phone, _RECIPIENTS.c.language,
                      _RECIPIENTS.c.assignments).where(_RECIPIENTS.c.incident_id == bindparam("incident_id"),
                                                       _RECIPIENTS.c.confirmed_at.is_(None)) \
    .order_by(_RECIPIENTS.c.id)
_ALREADY_CALLED = select(_RECIPIENTS.c.person_id).where(_RECIPIENTS.c.incident_id == bindparam("incident_id"),
                                                        _RECIPIENTS.c.person_id.in_(bindparam("ids", expanding=True)))


def replace_schedule(session: Session, incident_id: int, level: int, planned: Sequence[PlannedStep],
                     now: datetime) -> int:
    """Cancel pending steps of other levels, add the level's planned steps not stored yet, and plan again from now
    those of this level a change cancelled before they ran (2 → 1 → 2); the ones that ran stay done. How many are
    pending afterwards because of this call."""
    session.execute(update(EscalationStepRow).where(
        EscalationStepRow.incident_id == incident_id, EscalationStepRow.status == "pending",
        EscalationStepRow.level != level).values(status="cancelled", done_at=now, done_by="level change"))
    existing = {(rnd, index): (step_id, status) for step_id, rnd, index, status in session.execute(
        select(EscalationStepRow.id, EscalationStepRow.round, EscalationStepRow.step_index, EscalationStepRow.status)
        .where(EscalationStepRow.incident_id == incident_id, EscalationStepRow.level == level))}
    rows: list[dict[str, Any]] = []
    replanned = 0
    for s in planned:
        found = existing.get((s.round, s.step_index))
        if found is None:
            rows.append(dict(incident_id=incident_id, level=s.level, round=s.round, step_index=s.step_index,
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


def claim(session: Session, step_id: int) -> EscalationStepRow | None:
    """The step, locked for this transaction on PostgreSQL; a step another worker holds is skipped (None)."""
    return session.scalar(locked(session, select(EscalationStepRow).where(EscalationStepRow.id == step_id),
                                 skip_locked=True))


def unconfirmed(conn: Connection, incident_id: int) -> list[Row[Any]]:
    """The recipients who have not confirmed, as plain rows: late in a call-out most have confirmed, and loading
    (and parsing the tasks of) thousands of recipients as ORM objects took most of a step's time."""
    return list(conn.execute(_UNCONFIRMED, {"incident_id": incident_id}))


def already_called(conn: Connection, incident_id: int, person_ids: Sequence[str]) -> set[str]:
    return set(conn.scalars(_ALREADY_CALLED, {"incident_id": incident_id, "ids": list(person_ids)}))


def add_chain_recipient(session: Session, incident_id: int, level: int, chain_step: str, person_id: str,
                        name: str, phone: str, language: str, now: datetime) -> None:
    """Someone outside the groups (the county) told by the chain, made a recipient so they can confirm."""
    session.execute(insert(RecipientRow).values(
        incident_id=incident_id, person_id=person_id, name=name, phone=phone, language=language,
        assignments=[{"chain": chain_step}], called_at=now, called_level=level))


def done_in_round(session: Session, incident_id: int, level: int, round_: int,
                  chain_step: str) -> EscalationStepRow | None:
    return session.scalar(select(EscalationStepRow).where(
        EscalationStepRow.incident_id == incident_id, EscalationStepRow.level == level,
        EscalationStepRow.round == round_, EscalationStepRow.chain_step == chain_step,
        EscalationStepRow.status == "done"))


def acknowledged_since(session: Session, incident_id: int, person_ids: Sequence[str], since: datetime) -> bool:
    return session.scalar(select(AcknowledgementRow.id).where(
        AcknowledgementRow.incident_id == incident_id, AcknowledgementRow.person_id.in_(person_ids),
        AcknowledgementRow.at >= since).limit(1)) is not None


def due_step_ids(conn: Connection, now: datetime, limit: int) -> list[int]:
    return list(conn.scalars(_DUE, {"now": now, "limit": limit}))


def next_pending(session: Session, incident_id: int) -> EscalationStepRow | None:
    return session.scalar(select(EscalationStepRow).where(
        EscalationStepRow.incident_id == incident_id, EscalationStepRow.status == "pending")
        .order_by(EscalationStepRow.due_at, EscalationStepRow.id).limit(1))


def pending_due_times(session: Session) -> list[tuple[int, datetime]]:
    return [(i, d) for i, d in session.execute(select(EscalationStepRow.id, EscalationStepRow.due_at).where(
        EscalationStepRow.status == "pending"))]


def cancel_reminders(db: store.Db, incident_id: int, person_id: str, now: datetime) -> int:
    """Cancel the person's reminders still waiting (within the caller's transaction); how many."""
    params = {"incident": incident_id, "person": person_id, "now": now}
    return int(store.connection_of(db).execute(_CANCEL_REMINDERS, params).rowcount)
