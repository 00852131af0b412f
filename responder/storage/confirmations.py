"""What confirmations read and write: the recipient a reply or keypress is from, acknowledgements, inbound
messages, delivery receipts.

A reply is on the hot path of a call-out (thousands within minutes) and of drills: the statements it runs are
built once here, in Core. Building a select with a few clauses costs ~0.1 ms and loading ORM objects as much
again, several times the SQL itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, exists, func, insert, select, update
from sqlalchemy.orm import Session

from responder.storage import incidents as store
from responder.storage.escalation_steps import pending_reminders
from responder.storage.models import AcknowledgementRow, DeliveryReceiptRow, InboundMessageRow, IncidentRow, OutboxRow

_R, _I, _O = store.RECIPIENTS, cast(Table, IncidentRow.__table__), store.OUTBOX
_ACKS = cast(Table, AcknowledgementRow.__table__)
_CANDIDATE = select(_R.c.id, _R.c.person_id, _R.c.name, _R.c.phone, _R.c.language, _R.c.called_at,
                    _R.c.confirmed_at, _I.c.id.label("incident_id"), _I.c.code, _I.c.hazard, _I.c.level,
                    _I.c.reason, _I.c.is_drill, _I.c.snapshot_digest,
                    exists().where(pending_reminders(_R.c.incident_id, _R.c.person_id)).label("has_reminders")) \
    .join(_I, _I.c.id == _R.c.incident_id).where(_I.c.status == "open")
_BY_PHONE = _CANDIDATE.where(_R.c.phone == bindparam("phone")).order_by(_I.c.id)
_BY_PERSON = _CANDIDATE.where(_R.c.incident_id == bindparam("incident_id"), _R.c.person_id == bindparam("person_id"))
_KNOWN_SENDER = select(_R.c.person_id).where(_R.c.phone == bindparam("phone")).limit(1)
_SET_CONFIRMED = update(_R).where(_R.c.id == bindparam("recipient_id")).values(
    confirmed_at=bindparam("at"), confirmed_channel=bindparam("channel"), confirmed_by=bindparam("by"))
_INSERT_ACK = insert(_ACKS)
_INSERT_INBOUND = insert(cast(Table, InboundMessageRow.__table__))
_LAST_ACK = select(func.max(_ACKS.c.at)).where(
    _ACKS.c.incident_id == bindparam("incident_id"), _ACKS.c.person_id == bindparam("person_id")).scalar_subquery()
_TOLD_SINCE = select(_O.c.id).where(
    _O.c.incident_id == bindparam("incident_id"), _O.c.person_id == bindparam("person_id"),
    store.one_of(_O.c.kind, ("escalate_group", "escalate_chain", "inform_chain")),
    _O.c.created_at >= func.coalesce(_LAST_ACK, bindparam("confirmed_at", type_=_O.c.created_at.type))).limit(1)
_SNAPSHOTS = select(_I.c.plan_snapshot, _I.c.roster_snapshot).where(_I.c.id == bindparam("incident_id"))

Candidate = Row[*tuple[Any, ...]]
"""A recipient of an open incident with what a reply needs of both: the recipient's columns, then ``incident_id``
and the incident's. ``has_reminders`` spares the UPDATE that cancels them when there are none (most replies come
after everything was sent)."""


def candidates_by_phone(conn: Connection, phone: str) -> list[Candidate]:
    """Every open incident's recipient with this number, oldest incident first."""
    return list(conn.execute(_BY_PHONE, {"phone": phone}))


def candidate(conn: Connection, incident_id: int, person_id: str) -> Candidate | None:
    return conn.execute(_BY_PERSON, {"incident_id": incident_id, "person_id": person_id}).first()


def known_sender(conn: Connection, phone: str) -> str | None:
    """The person with this number in any incident, open or not."""
    return conn.scalar(_KNOWN_SENDER, {"phone": phone})


def set_confirmed(conn: Connection, recipient_id: int, at: datetime, channel: str, by: str) -> None:
    conn.execute(_SET_CONFIRMED, {"recipient_id": recipient_id, "at": at, "channel": channel, "by": by})


def add_acknowledgement(conn: Connection, incident_id: int, person_id: str, at: datetime, channel: str,
                        by: str) -> None:
    conn.execute(_INSERT_ACK, {"incident_id": incident_id, "person_id": person_id, "at": at, "channel": channel,
                               "by": by})


def told_since_acknowledged(conn: Connection, incident_id: int, person_id: str, confirmed_at: datetime) -> bool:
    """Was an escalation report sent to this person since their last acknowledgement (or confirmation)?"""
    return conn.scalar(_TOLD_SINCE, {"incident_id": incident_id, "person_id": person_id,
                                     "confirmed_at": confirmed_at}) is not None


def add_inbound(conn: Connection, row: dict[str, Any]) -> None:
    """Stores an inbound message; a repeated provider id fails here (IntegrityError), rolling the repeat back."""
    conn.execute(_INSERT_INBOUND, row)


def snapshots(conn: Connection, incident_id: int) -> Row[*tuple[Any, ...]]:
    """(plan_snapshot, roster_snapshot) of an incident, without loading the row."""
    return conn.execute(_SNAPSHOTS, {"incident_id": incident_id}).one()


def add_receipt(session: Session, sid: str, status: str, error_code: str | None, now: datetime) -> DeliveryReceiptRow:
    receipt = DeliveryReceiptRow(sid=sid, status=status, error_code=error_code, received_at=now, applied=False)
    session.add(receipt)
    return receipt


def message_by_sid(session: Session, sid: str) -> OutboxRow | None:
    return session.scalar(select(OutboxRow).where(OutboxRow.sid == sid))


def unapplied_receipts(session: Session, sid: str) -> list[DeliveryReceiptRow]:
    return list(session.scalars(select(DeliveryReceiptRow).where(
        DeliveryReceiptRow.sid == sid, DeliveryReceiptRow.applied.is_(False)).order_by(DeliveryReceiptRow.id)))
