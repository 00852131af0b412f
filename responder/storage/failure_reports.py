"""The permanent failures not yet told to anyone, and what their summary needs (``app/failures.py``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.orm import Session

from responder.domain.incidents import SUMMARISED_KINDS
from responder.storage import incidents as store
from responder.storage.models import OutboxRow

_UNREPORTED = (select(OutboxRow).where(store.one_of(OutboxRow.status, ("failed", "undelivered")),
                                      OutboxRow.failure_reported.is_(False), OutboxRow.incident_id.is_not(None),
                                      store.one_of(OutboxRow.kind, SUMMARISED_KINDS))
               .order_by(OutboxRow.incident_id, OutboxRow.id))
_ANY_UNREPORTED = select(_UNREPORTED.with_only_columns(OutboxRow.id).limit(1).exists())
"""Built once: every pass of the dispatcher asks, and the answer is almost always no."""
_R = store.RECIPIENTS
_PEOPLE = select(_R.c.person_id, _R.c.name, _R.c.assignments).where(
    _R.c.incident_id == bindparam("incident_id"), _R.c.person_id.in_(bindparam("people", expanding=True)))


def any_unreported(conn: Connection) -> bool:
    return bool(conn.scalar(_ANY_UNREPORTED))


def unreported(session: Session) -> list[OutboxRow]:
    """Failed call-out messages nobody was told of, by incident."""
    return list(session.scalars(_UNREPORTED))


def still_going(session: Session, incident_id: int) -> bool:
    """Whether some of the incident's call-out is still waiting to be sent."""
    return session.scalar(select(OutboxRow.id).where(
        OutboxRow.incident_id == incident_id, OutboxRow.status.in_(("pending", "sending")),
        OutboxRow.kind.in_(SUMMARISED_KINDS)).limit(1)) is not None


def people(session: Session, incident_id: int, person_ids: Collection[str]) -> list[Row[Any]]:
    """(person_id, name, assignments) of these recipients, as plain rows: the ones whose messages failed, not the
    whole call-out (thousands, each with its assignments to decode)."""
    if not person_ids:
        return []
    return list(session.execute(_PEOPLE, {"incident_id": incident_id, "people": sorted(person_ids)}))
