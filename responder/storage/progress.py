"""Where things stand: what falls due next, which incidents are open, how many were reached and confirmed.

A drill's loop asks these between its events (thousands of times, so the statements are built once and the
frequent ones run on a bare read-only connection); a duty board asks the same questions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from responder.storage import incidents as store
from responder.storage.feed_models import FeedStatusRow
from responder.storage.models import (
    AuditEventRow,
    EscalationStepRow,
    InboundMessageRow,
    IncidentRow,
    OutboxRow,
    RecipientRow,
)

REACHED = ("sent", "delivered")

_NEXT_DUE = select(
    select(func.min(EscalationStepRow.due_at)).where(EscalationStepRow.status == "pending").scalar_subquery(),
    select(func.min(OutboxRow.due_at)).where(OutboxRow.status == "pending").scalar_subquery())
_CODES = select(IncidentRow.id, IncidentRow.code)
_OPEN_COUNT = select(func.count()).select_from(IncidentRow).where(IncidentRow.status == "open")
_OPEN_LEVELS = select(IncidentRow.hazard, IncidentRow.level).where(IncidentRow.status == "open")
_REACHED = select(func.count()).select_from(OutboxRow).where(store.one_of(OutboxRow.status, REACHED))
_CONFIRMED = select(func.count()).select_from(RecipientRow).where(RecipientRow.confirmed_at.is_not(None))


def next_due(conn: Connection) -> tuple[datetime | None, datetime | None]:
    """When the next pending escalation step and the next pending message fall due (None: nothing pending)."""
    step, message = conn.execute(_NEXT_DUE).one()
    return step, message


def incident_codes(conn: Connection) -> tuple[dict[int, str], int]:
    """Every incident's reply code by id, and how many incidents are open."""
    return {i: code for i, code in conn.execute(_CODES)}, conn.scalar(_OPEN_COUNT) or 0


def open_incident(session: Session, hazard: str) -> IncidentRow | None:
    """The open incident of ``hazard``, if there is one (there is at most one per hazard and area)."""
    return session.scalar(select(IncidentRow).where(IncidentRow.hazard == hazard, IncidentRow.status == "open")
                          .limit(1))


def incident_ids(session: Session) -> list[int]:
    return list(session.scalars(select(IncidentRow.id).order_by(IncidentRow.id)))


def open_levels(session: Session) -> dict[str, int]:
    """The level each hazard stands at, for the hazards with an open incident."""
    return {hazard: level for hazard, level in session.execute(_OPEN_LEVELS)}


def reached_count(session: Session) -> int:
    """Messages the gateway took (sent) or the provider delivered."""
    return session.scalar(_REACHED) or 0


def confirmed_count(session: Session) -> int:
    """Recipients who confirmed, over every incident."""
    return session.scalar(_CONFIRMED) or 0


_FINGERPRINT = select(
    select(func.max(AuditEventRow.id)).scalar_subquery(),
    select(func.max(InboundMessageRow.id)).scalar_subquery(),
    select(func.max(OutboxRow.id)).scalar_subquery(),
    select(func.max(OutboxRow.sent_at)).scalar_subquery(),
    select(func.max(OutboxRow.final_at)).scalar_subquery(),
    select(func.count()).select_from(OutboxRow).where(store.one_of(OutboxRow.status, ("pending", "sending")))
    .scalar_subquery(),
    _CONFIRMED.scalar_subquery(),
    select(func.max(FeedStatusRow.last_ok_at)).scalar_subquery(),
    select(func.max(FeedStatusRow.last_error_at)).scalar_subquery())


def fingerprint(conn: Connection) -> str:
    """A short string that changes whenever anything a duty board shows changes, in ``|``-separated fields: the
    last audit event (a decision, a confirmation, a reading typed in), reply, message queued, sent and finished,
    messages waiting, confirmations, then the last feed success and error. One cheap statement, so one poll serves
    every open board; a page watches the fields it shows."""
    return "|".join("" if v is None else str(v) for v in conn.execute(_FINGERPRINT).one())


_PERSON_MESSAGES = (select(OutboxRow.person_id, OutboxRow.channel, OutboxRow.kind, OutboxRow.status,
                           OutboxRow.sent_at, OutboxRow.final_at, OutboxRow.error_code)
                    .order_by(OutboxRow.id))


def person_messages(session: Session, incident_id: int) -> list[tuple[str | None, str, str, str, datetime | None,
                                                                       datetime | None, str | None]]:
    """Every message of an incident in the order queued: person, channel, kind, status, sent, final, error code."""
    rows = session.execute(_PERSON_MESSAGES.where(OutboxRow.incident_id == incident_id))
    return [(p, ch, kind, status, sent, final, err) for p, ch, kind, status, sent, final, err in rows]
