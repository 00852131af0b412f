"""An incident's stored history, as the after-action report reads it: its messages, escalation steps,
acknowledgements and replies, the incidents around it, and the readings of its stations (its recipients, audit
trail and confirming replies are ``storage.incidents``' ``recipients_of``, ``audit_events``, ``handled_replies``).

Plain queries returning rows; what they mean is the report's business (``responder.reports``).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, or_, select, type_coerce
from sqlalchemy.orm import Session, undefer

from responder.domain.readings import epoch_seconds
from responder.domain.stations import QUANTITIES
from responder.storage.feed_models import ReadingRow
from responder.storage.models import (
    AcknowledgementRow,
    EscalationStepRow,
    InboundMessageRow,
    IncidentRow,
    OutboxRow,
    RecipientRow,
)

MAX_READINGS = 500_000
"""A report charts a few stations over days: far fewer readings than this."""


def incidents(session: Session, ids: Collection[int]) -> dict[int, IncidentRow]:
    """The incidents of ``ids`` that exist, by id, with their plan and roster snapshots loaded."""
    query = (select(IncidentRow).where(IncidentRow.id.in_(list(ids)))
             .options(undefer(IncidentRow.plan_snapshot), undefer(IncidentRow.roster_snapshot)))
    return {row.id: row for row in session.scalars(query)}


def messages(session: Session, incident_id: int) -> list[tuple[str | None, str, str, str, datetime]]:
    """Each outbox row of the incident, in order: whom for, status, kind, channel, when queued."""
    query = (select(OutboxRow.person_id, OutboxRow.status, OutboxRow.kind, OutboxRow.channel, OutboxRow.created_at)
             .where(OutboxRow.incident_id == incident_id).order_by(OutboxRow.id))
    return [(person, status, kind, channel, at) for person, status, kind, channel, at in session.execute(query)]


def texts(session: Session, incident_id: int) -> list[tuple[str | None, str, str, str, str, str, datetime]]:
    """Each outbox row of the incident with its text, in order: whom for, status, kind, language, channel, body,
    when queued."""
    query = (select(OutboxRow.person_id, OutboxRow.status, OutboxRow.kind, OutboxRow.language, OutboxRow.channel,
                    OutboxRow.body, OutboxRow.created_at).where(OutboxRow.incident_id == incident_id)
             .order_by(OutboxRow.id))
    return [(person, status, kind, language, channel, body, at)
            for person, status, kind, language, channel, body, at in session.execute(query)]


def escalation_steps(session: Session, incident_id: int) -> list[EscalationStepRow]:
    return list(session.scalars(select(EscalationStepRow).where(EscalationStepRow.incident_id == incident_id)
                                .order_by(EscalationStepRow.due_at, EscalationStepRow.level, EscalationStepRow.round,
                                          EscalationStepRow.step_index)))


def acknowledgements(session: Session, incident_id: int) -> list[AcknowledgementRow]:
    return list(session.scalars(select(AcknowledgementRow).where(AcknowledgementRow.incident_id == incident_id)
                                .order_by(AcknowledgementRow.at, AcknowledgementRow.id)))


def replies(session: Session, incident_id: int, phones: Collection[str], start: datetime, end: datetime,
            excluding: Collection[str]) -> list[InboundMessageRow]:
    """SMS replies whose outcome is not among ``excluding``: those matched to the incident, and those from its
    recipients' ``phones`` matched to none between ``start`` and ``end``; in the order received."""
    query = select(InboundMessageRow).where(
        InboundMessageRow.outcome.not_in(list(excluding)),
        or_(InboundMessageRow.incident_id == incident_id,
            InboundMessageRow.incident_id.is_(None) & InboundMessageRow.from_number.in_(list(phones))
            & (InboundMessageRow.received_at >= start) & (InboundMessageRow.received_at <= end)),
    ).order_by(InboundMessageRow.received_at, InboundMessageRow.id)
    return list(session.scalars(query))


def incidents_between(session: Session, start: datetime,
                      end: datetime) -> list[tuple[int, str, datetime, datetime | None]]:
    """Every incident open at some time between ``start`` and ``end``: id, code, raised, ended."""
    query = (select(IncidentRow.id, IncidentRow.code, IncidentRow.raised_at, IncidentRow.ended_at)
             .where(IncidentRow.raised_at <= end, or_(IncidentRow.ended_at.is_(None), IncidentRow.ended_at >= start)))
    return [(i, code, raised, ended) for i, code, raised, ended in session.execute(query)]


def calls_of(session: Session,
             incident_ids: Collection[int]) -> list[tuple[int, str, str, datetime, list[Any]]]:
    """Every recipient of these incidents: incident, person, name, when called, why (assignments)."""
    query = (select(RecipientRow.incident_id, RecipientRow.person_id, RecipientRow.name, RecipientRow.called_at,
                    RecipientRow.assignments).where(RecipientRow.incident_id.in_(list(incident_ids))))
    return [(i, person, name, called, why) for i, person, name, called, why in session.execute(query)]


def readings(session: Session, station_ids: Collection[str], start: datetime,
             end: datetime) -> list[tuple[str, str, datetime, float, str]]:
    """Readings of ``station_ids`` between ``start`` and ``end`` (inclusive): station, quantity, time, value, unit,
    by station, quantity and time."""
    if not station_ids:
        return []
    # Naming every quantity lets the database walk its (quantity, time) key instead of the whole table.
    query = (select(ReadingRow.station, ReadingRow.quantity, ReadingRow.time, ReadingRow.value, ReadingRow.unit)
             .where(ReadingRow.quantity.in_(QUANTITIES), ReadingRow.time >= start, ReadingRow.time <= end,
                    ReadingRow.station.in_([str(s) for s in station_ids]))
             .order_by(ReadingRow.station, ReadingRow.quantity, ReadingRow.time).limit(MAX_READINGS))
    return [(station, quantity, at, value, unit) for station, quantity, at, value, unit in session.execute(query)]


def chart_points(session: Session, station_ids: Collection[str], start: datetime,
                 end: datetime) -> list[tuple[str, str, int, float]]:
    """Readings of ``station_ids`` in ``(start, end]`` as (station, quantity, epoch seconds, value), by station,
    quantity and time: what a chart draws, without making a datetime of each of a day's thousands of readings."""
    if not station_ids:
        return []
    seconds = type_coerce(ReadingRow.time, BigInteger)
    query = (select(ReadingRow.station, ReadingRow.quantity, seconds, ReadingRow.value)
             .where(ReadingRow.quantity.in_(QUANTITIES), seconds > epoch_seconds(start), seconds <= epoch_seconds(end),
                    ReadingRow.station.in_([str(s) for s in station_ids]))
             .order_by(ReadingRow.station, ReadingRow.quantity, ReadingRow.time).limit(MAX_READINGS))
    return [(station, quantity, int(at), value) for station, quantity, at, value in session.execute(query)]
