"""Confirmations: SMS replies, voice keypresses, phone calls logged by the duty officer; delivery receipts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from responder.app.context import AppContext
from responder.app.escalation import cancel_reminders
from responder.domain.callout import Contact
from responder.domain.errors import InputError, NotFound, Problem
from responder.domain.incidents import OutgoingMessage
from responder.domain.messages import IncidentFacts, render
from responder.domain.replies import parse_reply
from responder.storage import incidents as store
from responder.storage.db import transaction
from responder.storage.models import (
    AcknowledgementRow,
    DeliveryReceiptRow,
    InboundMessageRow,
    IncidentRow,
    OutboxRow,
    RecipientRow,
)

DELIVERY_ORDER = {"accepted": 1, "queued": 1, "sending": 2, "sent": 3, "delivered": 5, "read": 5,
                  "undelivered": 4, "failed": 4, "canceled": 4}
TERMINAL = {"delivered", "read", "undelivered", "failed", "canceled"}


@dataclass(frozen=True)
class ConfirmResult:
    outcome: str
    """confirmed, acknowledged (an escalation, after an earlier confirmation), duplicate."""
    incident_id: int
    person_id: str


def _confirm(ctx: AppContext, session: Session, incident: IncidentRow, recipient: RecipientRow, channel: str,
             by: str, reply: bool) -> ConfirmResult:
    """Record a confirmation once; later ones only acknowledge escalation reports sent since."""
    from responder.app.alerts import sender_key, snapshot_of

    now = ctx.clock.now()
    if recipient.confirmed_at is None:
        recipient.confirmed_at, recipient.confirmed_channel, recipient.confirmed_by = now, channel, by
        session.add(AcknowledgementRow(incident_id=incident.id, person_id=recipient.person_id, at=now,
                                       channel=channel, by=by))
        cancelled = cancel_reminders(session, incident.id, recipient.person_id, now)
        store.audit(session, now, by, "confirmed", f"{recipient.name} confirmed by {channel}", incident.id, None,
                    {"person": recipient.person_id, "channel": channel, "cancelled": cancelled,
                     "after_seconds": int((now - recipient.called_at).total_seconds())})
        if reply:
            plan, _ = snapshot_of(incident)
            facts = IncidentFacts(incident.code, incident.hazard, incident.level, incident.reason, incident.is_drill)
            contact = Contact(recipient.person_id, recipient.name, recipient.phone, recipient.language)
            text = render(plan, "confirmed", contact.language, facts, when=now)
            store.enqueue(session, incident.id, [OutgoingMessage(contact, "confirmed", text)], now,
                          timedelta(seconds=ctx.settings.send_deadline_seconds), sender_key(ctx))
        return ConfirmResult("confirmed", incident.id, recipient.person_id)
    last_ack = session.scalar(select(AcknowledgementRow.at).where(
        AcknowledgementRow.incident_id == incident.id, AcknowledgementRow.person_id == recipient.person_id)
        .order_by(AcknowledgementRow.at.desc()).limit(1))
    told_since = session.scalar(select(OutboxRow.id).where(
        OutboxRow.incident_id == incident.id, OutboxRow.person_id == recipient.person_id,
        OutboxRow.kind.in_(("escalate_group", "escalate_chain", "inform_chain")),
        OutboxRow.created_at >= (last_ack or recipient.confirmed_at)).limit(1))
    if told_since is not None:
        session.add(AcknowledgementRow(incident_id=incident.id, person_id=recipient.person_id, at=now,
                                       channel=channel, by=by))
        store.audit(session, now, by, "escalation_acknowledged",
                    f"{recipient.name} acknowledged the escalation report by {channel}", incident.id, None,
                    {"person": recipient.person_id, "channel": channel})
        return ConfirmResult("acknowledged", incident.id, recipient.person_id)
    return ConfirmResult("duplicate", incident.id, recipient.person_id)


def acknowledge(ctx: AppContext, incident_id: int, person_id: str, by: str, channel: str = "phone") -> ConfirmResult:
    """`alert ack`: the duty officer logs a confirmation taken by phone."""
    from responder.app.alerts import load_open

    ctx.require_schema()
    with transaction(ctx.sessions) as session:
        incident = load_open(session, incident_id)
        recipient = session.scalar(select(RecipientRow).where(
            RecipientRow.incident_id == incident_id, RecipientRow.person_id == person_id))
        if recipient is None:
            raise InputError(Problem(f"{person_id!r} was not called out for incident #{incident_id}",
                                     field="--person"))
        return _confirm(ctx, session, incident, recipient, channel, by, reply=False)


@dataclass(frozen=True)
class InboundResult:
    outcome: str
    """confirmed, acknowledged, duplicate, ask_code, unknown_sender, no_open_incident, unknown_code, note, repeat."""
    incident_id: int | None = None
    person_id: str | None = None


def handle_inbound(ctx: AppContext, from_number: str, to_number: str, body: str, sid: str | None) -> InboundResult:
    """An SMS reply. Stored whatever it says; a repeated webhook (same MessageSid) changes nothing."""
    from responder.app.alerts import sender_key

    now = ctx.clock.now()
    reply = parse_reply(body)
    try:
        with transaction(ctx.sessions) as session:
            row = InboundMessageRow(sid=sid, received_at=now, from_number=from_number, to_number=to_number,
                                    body=body[:2000], outcome="received")
            session.add(row)
            session.flush()
            candidates = [(r, i) for r, i in session.execute(
                select(RecipientRow, IncidentRow).join(IncidentRow, IncidentRow.id == RecipientRow.incident_id)
                .where(RecipientRow.phone == from_number, IncidentRow.status == "open")
                .order_by(IncidentRow.id))]
            if not candidates:
                known = session.scalar(select(RecipientRow.person_id).where(RecipientRow.phone == from_number)
                                       .limit(1))
                row.person_id = known
                row.outcome = "no_open_incident" if known else "unknown_sender"
                return InboundResult(row.outcome, None, known)
            row.person_id = candidates[0][0].person_id
            if not reply.confirms:
                row.outcome = "note"
                row.incident_id = candidates[-1][1].id
                for recipient, incident in candidates:
                    store.audit(session, now, recipient.name, "reply", f"reply from {recipient.name}: {body[:300]}",
                                incident.id, None, {"from": from_number, "body": body[:1000]})
                return InboundResult("note", row.incident_id, row.person_id)
            if reply.code:
                chosen = [(r, i) for r, i in candidates if i.code == reply.code]
                if not chosen:
                    row.outcome = "unknown_code"
                    _ask_which(ctx, session, candidates, now, sender_key(ctx))
                    return InboundResult("unknown_code", None, row.person_id)
            elif len(candidates) > 1:
                unconfirmed = [(r, i) for r, i in candidates if r.confirmed_at is None]
                if len(unconfirmed) == 1:
                    chosen = unconfirmed
                else:
                    row.outcome = "ask_code"
                    _ask_which(ctx, session, candidates, now, sender_key(ctx))
                    return InboundResult("ask_code", None, row.person_id)
            else:
                chosen = candidates
            recipient, incident = chosen[0]
            result = _confirm(ctx, session, incident, recipient, "sms", recipient.name, reply=True)
            row.incident_id, row.outcome = incident.id, result.outcome
            return InboundResult(result.outcome, incident.id, recipient.person_id)
    except IntegrityError:
        return InboundResult("repeat")  # the same MessageSid again: already handled


def _ask_which(ctx: AppContext, session: Session, candidates: list[tuple[RecipientRow, IncidentRow]],
               now: datetime, sender: str) -> None:
    """Several incidents are open: ask for the code rather than guess."""
    from responder.app.alerts import snapshot_of

    recipient, incident = candidates[0]
    plan, _ = snapshot_of(incident)
    codes = ", ".join(f"{i.code} ({i.hazard} L{i.level})" for _, i in candidates)
    facts = IncidentFacts(incident.code, incident.hazard, incident.level, incident.reason, incident.is_drill)
    contact = Contact(recipient.person_id, recipient.name, recipient.phone, recipient.language)
    text = render(plan, "which_incident", contact.language, facts, extras={"codes": codes}, when=now)
    store.enqueue(session, None, [OutgoingMessage(contact, "which_incident", text)], now,
                  timedelta(seconds=ctx.settings.send_deadline_seconds), sender)


def handle_keypress(ctx: AppContext, outbox_id: int, digits: str) -> ConfirmResult | None:
    """Voice: the person pressed a key during our call. '1' confirms."""
    if digits.strip() != "1":
        return None
    with transaction(ctx.sessions) as session:
        message = session.get(OutboxRow, outbox_id)
        if message is None or message.incident_id is None or message.person_id is None:
            raise NotFound(f"no call {outbox_id}")
        incident = session.get(IncidentRow, message.incident_id)
        recipient = session.scalar(select(RecipientRow).where(
            RecipientRow.incident_id == message.incident_id, RecipientRow.person_id == message.person_id))
        if incident is None or recipient is None or incident.status != "open":
            return None
        return _confirm(ctx, session, incident, recipient, "voice", recipient.name, reply=False)


def record_delivery(ctx: AppContext, sid: str, status: str, error_code: str | None) -> str:
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


def apply_early_receipts(session: Session, outbox_id: int, sid: str, now: datetime) -> None:
    """Receipts that arrived before the sender recorded ``sid`` (the callback won the race)."""
    early = list(session.scalars(select(DeliveryReceiptRow).where(
        DeliveryReceiptRow.sid == sid, DeliveryReceiptRow.applied.is_(False)).order_by(DeliveryReceiptRow.id)))
    if not early:
        return
    message = session.get(OutboxRow, outbox_id)
    assert message is not None
    for receipt in early:
        apply_receipt(message, receipt.status, receipt.error_code, now)
        receipt.applied = True
