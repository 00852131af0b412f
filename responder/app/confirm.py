"""Confirmations: SMS replies, voice keypresses, phone calls logged by the duty officer; delivery receipts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from responder.app.escalation import cancel_reminders, pending_reminders
from responder.app.ports import Context
from responder.domain.callout import Contact
from responder.domain.errors import InputError, NotFound, Problem
from responder.domain.incidents import OutgoingMessage
from responder.domain.messages import IncidentFacts, compose
from responder.domain.plan import Plan
from responder.domain.replies import parse_reply
from responder.storage import incidents as store
from responder.storage.db import transaction
from responder.storage.models import (
    AcknowledgementRow,
    DeliveryReceiptRow,
    InboundMessageRow,
    IncidentRow,
    OutboxRow,
)

DELIVERY_ORDER = {"accepted": 1, "queued": 1, "sending": 2, "sent": 3, "delivered": 5, "read": 5,
                  "undelivered": 4, "failed": 4, "canceled": 4}
TERMINAL = {"delivered", "read", "undelivered", "failed", "canceled"}

# A reply is on the hot path of a call-out (thousands within minutes) and of drills: the statements it runs are
# built once here, in Core. Building a select with a few clauses costs ~0.1 ms and loading ORM objects as much
# again, several times the SQL itself.
_R, _I, _O = store.RECIPIENTS, cast(Table, IncidentRow.__table__), store.OUTBOX
_ACKS = cast(Table, AcknowledgementRow.__table__)
_CANDIDATE = select(_R.c.id, _R.c.person_id, _R.c.name, _R.c.phone, _R.c.language, _R.c.called_at,
                    _R.c.confirmed_at, _I.c.id.label("incident_id"), _I.c.code, _I.c.hazard, _I.c.level,
                    _I.c.reason, _I.c.is_drill, _I.c.snapshot_digest,
                    exists().where(pending_reminders(_R.c.incident_id, _R.c.person_id)).label("has_reminders")) \
    .join(_I, _I.c.id == _R.c.incident_id).where(_I.c.status == "open")
"""A recipient of an open incident with what a reply needs of both: a ``Candidate``. ``has_reminders`` spares
the UPDATE that cancels them when there are none (most replies come after everything was sent)."""
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
"""An escalation report sent to this person since their last acknowledgement (or confirmation)."""
_SNAPSHOTS = select(_I.c.plan_snapshot, _I.c.roster_snapshot).where(_I.c.id == bindparam("incident_id"))

Candidate = Row[*tuple[Any, ...]]
"""A row of ``_CANDIDATE``: the recipient's columns, then ``incident_id`` and the incident's."""


@dataclass(frozen=True)
class ConfirmResult:
    outcome: str
    """confirmed, acknowledged (an escalation, after an earlier confirmation), duplicate."""
    incident_id: int
    person_id: str


class _SnapshotSource:
    """What ``snapshot_of`` reads of an incident, without loading the row: the digest comes with the candidate,
    and the (large) snapshots are read only if this process has not parsed that digest yet."""

    def __init__(self, conn: Connection, incident_id: int, digest: str | None) -> None:
        self._conn, self._incident_id, self.snapshot_digest = conn, incident_id, digest

    @cached_property
    def _snapshots(self) -> Row[*tuple[Any, ...]]:
        return self._conn.execute(_SNAPSHOTS, {"incident_id": self._incident_id}).one()

    @property
    def plan_snapshot(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._snapshots.plan_snapshot)

    @property
    def roster_snapshot(self) -> list[Any]:
        return cast(list[Any], self._snapshots.roster_snapshot)


def _plan_of(conn: Connection, candidate: Candidate) -> Plan:
    from responder.app.incident_basis import snapshot_of

    source = _SnapshotSource(conn, candidate.incident_id, candidate.snapshot_digest)
    return snapshot_of(source)[0]


def _facts(candidate: Candidate) -> IncidentFacts:
    return IncidentFacts(candidate.code, candidate.hazard, candidate.level, candidate.reason, candidate.is_drill)


def _contact(candidate: Candidate) -> Contact:
    return Contact(candidate.person_id, candidate.name, candidate.phone, candidate.language)


def _confirm(ctx: Context, conn: Connection, candidate: Candidate, channel: str, by: str,
             reply: bool) -> ConfirmResult:
    """Record a confirmation once; later ones only acknowledge escalation reports sent since."""
    from responder.app.incident_basis import sender_key

    now = ctx.clock.now()
    incident_id, person_id, name = candidate.incident_id, candidate.person_id, candidate.name
    ack = {"incident_id": incident_id, "person_id": person_id, "at": now, "channel": channel, "by": by}
    if candidate.confirmed_at is None:
        conn.execute(_SET_CONFIRMED, {"recipient_id": candidate.id, "at": now, "channel": channel, "by": by})
        conn.execute(_INSERT_ACK, ack)
        cancelled = cancel_reminders(conn, incident_id, person_id, now) if candidate.has_reminders else 0
        store.audit(conn, now, by, "confirmed", f"{name} confirmed by {channel}", incident_id, None,
                    {"person": person_id, "channel": channel, "cancelled": cancelled,
                     "after_seconds": int((now - candidate.called_at).total_seconds())})
        if reply:
            contact = _contact(candidate)
            plan = _plan_of(conn, candidate)
            text = compose(plan, "confirmed", contact.language, _facts(candidate), when=now)
            store.enqueue(conn, incident_id, [OutgoingMessage.of(plan, contact, "confirmed", text)], now,
                          timedelta(seconds=ctx.settings.send_deadline_seconds), sender_key(ctx))
        return ConfirmResult("confirmed", incident_id, person_id)
    told_since = conn.scalar(_TOLD_SINCE, {"incident_id": incident_id, "person_id": person_id,
                                           "confirmed_at": candidate.confirmed_at})
    if told_since is not None:
        conn.execute(_INSERT_ACK, ack)
        store.audit(conn, now, by, "escalation_acknowledged",
                    f"{name} acknowledged the escalation report by {channel}", incident_id, None,
                    {"person": person_id, "channel": channel})
        return ConfirmResult("acknowledged", incident_id, person_id)
    return ConfirmResult("duplicate", incident_id, person_id)


def acknowledge(ctx: Context, incident_id: int, person_id: str, by: str, channel: str = "phone") -> ConfirmResult:
    """`alert ack`: the duty officer logs a confirmation taken by phone."""
    from responder.app.incident_basis import load_open

    ctx.require_schema()
    with transaction(ctx.sessions) as session:
        load_open(session, incident_id)
        conn = session.connection()
        candidate = conn.execute(_BY_PERSON, {"incident_id": incident_id, "person_id": person_id}).first()
        if candidate is None:
            raise InputError(Problem(f"{person_id!r} was not called out for incident #{incident_id}",
                                     field="--person"))
        return _confirm(ctx, conn, candidate, channel, by, reply=False)


@dataclass(frozen=True)
class InboundResult:
    outcome: str
    """confirmed, acknowledged, duplicate, ask_code, unknown_sender, no_open_incident, unknown_code, note, repeat."""
    incident_id: int | None = None
    person_id: str | None = None


def handle_inbound(ctx: Context, from_number: str, to_number: str, body: str, sid: str | None) -> InboundResult:
    """An SMS reply. Stored whatever it says; a repeated webhook (same MessageSid) changes nothing.

    The message is stored last, with its outcome (one INSERT rather than an INSERT and an UPDATE): a repeated
    MessageSid fails there and rolls back everything the repeat did. A Connection rather than a Session: nothing
    on this path is an ORM object.
    """
    now = ctx.clock.now()
    try:
        with ctx.engine.begin() as conn:
            row: dict[str, Any] = dict(sid=sid, received_at=now, from_number=from_number, to_number=to_number,
                                       body=body[:2000], person_id=None, incident_id=None)
            result = _act_on_reply(ctx, conn, row, body, now)
            conn.execute(_INSERT_INBOUND, {**row, "outcome": result.outcome})
            return result
    except IntegrityError:
        return InboundResult("repeat")  # the same MessageSid again: already handled


def _act_on_reply(ctx: Context, conn: Connection, row: dict[str, Any], body: str, now: datetime) -> InboundResult:
    """Confirm, note or ask which incident; sets the stored message's ``person_id`` and ``incident_id``."""
    from responder.app.incident_basis import sender_key

    reply = parse_reply(body)
    from_number = row["from_number"]
    candidates = list(conn.execute(_BY_PHONE, {"phone": from_number}))
    if not candidates:
        known = conn.scalar(_KNOWN_SENDER, {"phone": from_number})
        row["person_id"] = known
        return InboundResult("no_open_incident" if known else "unknown_sender", None, known)
    row["person_id"] = candidates[0].person_id
    if not reply.confirms:
        row["incident_id"] = candidates[-1].incident_id
        for c in candidates:
            store.audit(conn, now, c.name, "reply", f"reply from {c.name}: {body[:300]}", c.incident_id, None,
                        {"from": from_number, "body": body[:1000]})
        return InboundResult("note", row["incident_id"], row["person_id"])
    if reply.code:
        chosen = [c for c in candidates if c.code == reply.code]
        if not chosen:
            _ask_which(ctx, conn, candidates, now, sender_key(ctx))
            return InboundResult("unknown_code", None, row["person_id"])
    elif len(candidates) > 1:
        chosen = [c for c in candidates if c.confirmed_at is None]
        if len(chosen) != 1:
            _ask_which(ctx, conn, candidates, now, sender_key(ctx))
            return InboundResult("ask_code", None, row["person_id"])
    else:
        chosen = candidates
    candidate = chosen[0]
    result = _confirm(ctx, conn, candidate, "sms", candidate.name, reply=True)
    row["incident_id"] = candidate.incident_id
    return InboundResult(result.outcome, candidate.incident_id, candidate.person_id)


def _ask_which(ctx: Context, conn: Connection, candidates: list[Candidate], now: datetime, sender: str) -> None:
    """Several incidents are open: ask for the code rather than guess."""
    first = candidates[0]
    codes = ", ".join(f"{c.code} ({c.hazard} L{c.level})" for c in candidates)
    contact = _contact(first)
    plan = _plan_of(conn, first)
    text = compose(plan, "which_incident", contact.language, _facts(first),
                   extras={"codes": codes}, when=now)
    store.enqueue(conn, None, [OutgoingMessage.of(plan, contact, "which_incident", text)], now,
                  timedelta(seconds=ctx.settings.send_deadline_seconds), sender)


def handle_keypress(ctx: Context, outbox_id: int, digits: str) -> ConfirmResult | None:
    """Voice: the person pressed a key during our call. '1' confirms."""
    if digits.strip() != "1":
        return None
    with transaction(ctx.sessions) as session:
        message = session.get(OutboxRow, outbox_id)
        if message is None or message.incident_id is None or message.person_id is None:
            raise NotFound(f"no call {outbox_id}")
        conn = session.connection()
        candidate = conn.execute(_BY_PERSON, {"incident_id": message.incident_id,
                                              "person_id": message.person_id}).first()
        if candidate is None:  # no such recipient, or the incident is no longer open
            return None
        return _confirm(ctx, conn, candidate, "voice", candidate.name, reply=False)


def record_delivery(ctx: Context, sid: str, status: str, error_code: str | None) -> str:
    """A provider status callback, kept whatever happens; applied to its message now or, if the sender
    has not yet recorded the sid, right after it does. Never moves a message backwards."""
    now = ctx.clock.now()
    status = status.lower().strip()
    if status not in DELIVERY_ORDER:
        return "ignored"
    with transaction(ctx.sessions) as session:
        receipt = DeliveryReceiptRow(sid=sid, status=status, error_code=error_code, received_at=now, applied=False)
        session.add(receipt)
        message = session.scalar(select(OutboxRow).where(OutboxRow.sid == sid))
        if message is None:
            return "unknown"
        receipt.applied = True
        return apply_receipt(message, status, error_code, now)


def apply_receipt(message: OutboxRow, status: str, error_code: str | None, now: datetime) -> str:
    current = message.status
    if current in TERMINAL or DELIVERY_ORDER.get(status, 0) <= DELIVERY_ORDER.get(current, 0):
        return "unchanged"
    mapped = {"read": "delivered", "canceled": "failed", "accepted": "sent", "queued": "sent",
              "sending": "sent"}.get(status, status)
    if mapped == current:
        return "unchanged"
    message.status = mapped
    if mapped in ("delivered", "failed", "undelivered"):
        message.final_at = now
    if error_code:
        message.error_code = error_code
    return mapped


def apply_early_receipts(conn: Connection, outbox_id: int, sid: str, now: datetime) -> None:
    """Receipts that arrived before the sender recorded ``sid`` (the callback won the race), applied in the
    sender's transaction on ``conn``. Rare, so a Session of their own, joined to that transaction, is affordable."""
    with Session(bind=conn) as session:
        early = list(session.scalars(select(DeliveryReceiptRow).where(
            DeliveryReceiptRow.sid == sid, DeliveryReceiptRow.applied.is_(False)).order_by(DeliveryReceiptRow.id)))
        if not early:
            return
        message = session.get(OutboxRow, outbox_id)
        assert message is not None
        for receipt in early:
            apply_receipt(message, receipt.status, receipt.error_code, now)
            receipt.applied = True
        session.flush()
