"""Reading what the CAP export needs: an incident and its level history from the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from responder.domain.cap import CapIncident
from responder.domain.level_history import LEVEL_KINDS, level_events
from responder.storage.models import AuditEventRow, IncidentRow


def incident_history(session: Session, incident_id: int) -> tuple[IncidentRow, CapIncident] | None:
    """The incident's row (for its plan snapshot) and its raise, level changes and stand-down, in order."""
    row = session.get(IncidentRow, incident_id)
    if row is None:
        return None
    events = session.execute(
        select(AuditEventRow.at, AuditEventRow.kind, AuditEventRow.actor, AuditEventRow.reason,
               AuditEventRow.evidence)
        .where(AuditEventRow.incident_id == incident_id, AuditEventRow.kind.in_(LEVEL_KINDS))
        .order_by(AuditEventRow.at, AuditEventRow.id)).all()
    history = level_events((at, kind, actor, reason, evidence or {}) for at, kind, actor, reason, evidence in events)
    return row, CapIncident(row.id, row.code, row.hazard, row.is_drill, row.raised_at, tuple(history))


def current_incident_ids(session: Session, ended_since: datetime, include_drills: bool) -> list[int]:
    """Incidents still open or ended after ``ended_since``: those whose messages may not have expired yet."""
    query = (select(IncidentRow.id)
             .where(or_(IncidentRow.status == "open", IncidentRow.ended_at >= ended_since))
             .order_by(IncidentRow.id))
    if not include_drills:
        query = query.where(IncidentRow.is_drill.is_(False))
    return list(session.scalars(query))
