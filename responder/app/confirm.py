"""Confirmations: SMS replies, voice keypresses, phone calls logged by the duty officer; delivery receipts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, cast

from sqlalchemy import Connection, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from responder.app.ports import Context
from responder.domain.callout import Contact
from responder.domain.errors import InputError, NotFound, Problem
from responder.domain.incidents import OutgoingMessage
from responder.domain.messages import IncidentFacts, compose
from responder.domain.plan import Plan
from responder.domain.replies import parse_reply
from responder.storage import confirmations as confirm_store
from responder.storage import incidents as store
from responder.storage.confirmations import Candidate
from responder.storage.db import transaction
from responder.storage.escalation_steps import cancel_reminders
from responder.storage.models import OutboxRow

DELIVERY_ORDER = {"accepted": 1, "queued": 1, "sending": 2, "sent": 3, "delivered": 5, "read": 5,
                  "undelivered": 4, "failed": 4, "canceled": 4}
TERMINAL = {"delivered", "read", "undelivered", "failed", "canceled"}


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
        return confirm_store.snapshots(self._conn, self._incident_id)

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
    if candidate.confirmed_at is None:
        confirm_store.set_confirmed(conn, candidate.id, now, channel, by)
        confirm_store.add_acknowledgement(conn, incident_id, person_id, now, channel, by)
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
    if confirm_store.told_since_acknowledged(conn, incident_id, person_id, candidate.confirmed_at):
        confirm_store.add_acknowledgement(conn, incident_id, person_id, now, channel, by)
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
        candidate = confirm_store.candidate(conn, incident_id, person_id)
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
            confirm_store.add_inbound(conn, {**row, "outcome": result.outcome})
            return result
    except IntegrityError:
        return InboundResult("repeat")  # the same MessageSid again: already handled


def _act_on_reply(ctx: Context, conn: Connection, row: dict[str, Any], body: str, now: datetime) -> InboundResult:
    """Confirm, note or ask which incident; sets the stored message's ``person_id`` and ``incident_id``."""
    from responder.app.incident_basis import sender_key

    reply = parse_reply(body)
    from_number = row["from_number"]
    candidates = confirm_store.candidates_by_phone(conn, from_number)
    if not candidates:
        known = confirm_store.known_sender(conn, from_number)
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
        message = store.message(session, outbox_id)
        if message is None or message.incident_id is None or message.person_id is None:
            raise NotFound(f"no call {outbox_id}")
        conn = session.connection()
        candidate = confirm_store.candidate(conn, message.incident_id, message.person_id)
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
        receipt = confirm_store.add_receipt(session, sid, status, error_code, now)
        message = confirm_store.message_by_sid(session, sid)
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
        early = confirm_store.unapplied_receipts(session, sid)
        if not early:
            return
        message = store.message(session, outbox_id)
        assert message is not None
        for receipt in early:
            apply_receipt(message, receipt.status, receipt.error_code, now)
            receipt.applied = True
        session.flush()
