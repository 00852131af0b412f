"""Proposals of the rules, as stored, and the open incident a proposal would change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from responder.storage.models import IncidentRow, ProposalRow


def open_incident(session: Session, hazard: str, is_drill: bool) -> IncidentRow | None:
    return session.scalar(select(IncidentRow).where(IncidentRow.hazard == hazard, IncidentRow.status == "open",
                                                    IncidentRow.is_drill.is_(is_drill)))


def pending_for(session: Session, hazard: str, is_drill: bool) -> list[ProposalRow]:
    return list(session.scalars(select(ProposalRow).where(
        ProposalRow.hazard == hazard, ProposalRow.status == "pending", ProposalRow.is_drill.is_(is_drill))))


def add(session: Session, *, hazard: str, level: int | None, action: str, rule_id: str, mode: str,
        evidence: dict[str, Any], is_drill: bool, now: datetime) -> ProposalRow:
    """A new pending proposal, flushed so its id is known."""
    row = ProposalRow(hazard=hazard, level=level, action=action, rule_id=rule_id, mode=mode, evidence=evidence,
                      status="pending", is_drill=is_drill, created_at=now)
    session.add(row)
    session.flush()
    return row


def proposal(session: Session, proposal_id: int) -> ProposalRow | None:
    return session.get(ProposalRow, proposal_id)


def all_pending(session: Session) -> list[ProposalRow]:
    return list(session.scalars(select(ProposalRow).where(ProposalRow.status == "pending").order_by(ProposalRow.id)))
