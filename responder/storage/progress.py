"""Where things stand: what falls due next, which incidents are open, how many were reached and confirmed.

A drill's loop asks these between its events (thousands of times, so the statements are built once and the
frequent ones run on a bare read-only connection); a duty board asks the same questions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from responder.storage import incidents as store
from responder.storage.models import EscalationStepRow, IncidentRow, OutboxRow, RecipientRow

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
