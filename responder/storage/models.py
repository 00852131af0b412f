"""The incident tables: people, incidents, recipients, outbox, audit, escalation. Every change here comes with an
Alembic migration (a test checks they agree).

The feed tables (``feed_models``) and the duty board's (``board_models``) are declared on the same ``Base`` in
modules of their own, and this one no longer imports them: every command declared 13 tables, ``alert status``
reads none of them. ``storage.schema`` imports all three, for whatever needs every table (migrations).

No ``from __future__ import annotations`` here: SQLAlchemy would read every column's ``Mapped[...]`` back from a
string, a quarter of this module's import time.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from responder.storage.base import Base


class PersonRow(Base):
    """The roster in force; ``contacts import`` upserts it."""

    __tablename__ = "people"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    language: Mapped[str] = mapped_column(String(10))
    village: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]


class MembershipRow(Base):
    __tablename__ = "memberships"
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))


class IncidentRow(Base):
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(8))
    """The short code people put in their replies ("1 K7") when several incidents are open."""
    hazard: Mapped[str] = mapped_column(String(40))
    area: Mapped[str] = mapped_column(String(40))
    level: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="open")
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text)
    raised_by: Mapped[str] = mapped_column(String(200))
    raised_at: Mapped[datetime]
    level_changed_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    open_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    """hazard/area (and drill flag) while open, NULL once ended: the database refuses a second open one."""
    open_code: Mapped[str | None] = mapped_column(String(8), unique=True)
    plan_snapshot: Mapped[dict[str, Any]] = mapped_column(deferred=True)
    roster_snapshot: Mapped[list[Any]] = mapped_column(deferred=True)
    """Both snapshots are loaded only when read: a roster of thousands is parsed for nothing otherwise."""
    snapshot_digest: Mapped[str | None] = mapped_column(String(64))
    """sha256 of both snapshots, written with them: a process parses each distinct snapshot once."""


class RecipientRow(Base):
    """One person called out for an incident, with their tasks and confirmation."""

    __tablename__ = "recipients"
    __table_args__ = (UniqueConstraint("incident_id", "person_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    person_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(10))
    assignments: Mapped[list[Any]]
    """[{group, role, task, report_to}] at the level they were last called for."""
    called_at: Mapped[datetime]
    called_level: Mapped[int] = mapped_column(Integer)
    confirmed_at: Mapped[datetime | None]
    confirmed_channel: Mapped[str | None] = mapped_column(String(20))
    confirmed_by: Mapped[str | None] = mapped_column(String(200))


class CalloutRow(Base):
    """Each time a person is called out, or their call-out changes with the level: its level and groups.

    ``recipients`` holds each person's assignments at the latest level only; a downgrade releases groups, so a
    report that counted from it after one found 24 people called where 63 had been. Written in the same transaction
    as the level change (``storage.callouts``)."""

    __tablename__ = "callouts"
    __table_args__ = (Index("ix_callouts_person", "incident_id", "person_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    person_id: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    groups: Mapped[list[Any]]
    """Group ids of the tasks at this level; empty when the level change released the person."""
    zones: Mapped[list[Any]]
    """Evacuation zones at this level."""
    at: Mapped[datetime]


class OutboxRow(Base):
    """A message to send. Written in the same transaction as the decision that calls for it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "due_at"),
                      Index("ix_outbox_person", "incident_id", "person_id"))
    """ix_outbox_person: a confirmation cancels that person's reminders, among an incident's thousands of rows."""
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    person_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    to_number: Mapped[str] = mapped_column(String(20))
    sender: Mapped[str] = mapped_column(String(40), default="default")
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    """pending → sending → sent → delivered | failed | undelivered; or cancelled."""
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    deadline_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    final_at: Mapped[datetime | None]
    failure_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    fields: Mapped[dict[str, Any] | None]
    """The values the text was filled with (0012): a template-only provider's parameters are made from them."""


class SendAttemptRow(Base):
    __tablename__ = "send_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    at: Mapped[datetime]
    worker: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)


class AuditEventRow(Base):
    """Append-only: database triggers refuse UPDATE and DELETE (see the first migration)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]]


class EscalationStepRow(Base):
    """One scheduled escalation step of one incident at one level. Executing it flips status once."""

    __tablename__ = "escalation_steps"
    __table_args__ = (UniqueConstraint("incident_id", "level", "round", "step_index"),
                      Index("ix_escalation_due", "status", "due_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    level: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    step_index: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(30))
    chain_step: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    """pending → done | skipped | cancelled."""
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(80))
    result: Mapped[dict[str, Any]]


class AcknowledgementRow(Base):
    """Each time a person confirms: the first is their confirmation; later ones answer escalations."""

    __tablename__ = "acknowledgements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    person_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(20))
    by: Mapped[str] = mapped_column(String(200))
    step_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_steps.id"))


class InboundMessageRow(Base):
    """Every SMS reply, kept whatever it says; the duty officer sees the ones we could not act on."""

    __tablename__ = "inbound_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime]
    from_number: Mapped[str] = mapped_column(String(40))
    to_number: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    person_id: Mapped[str | None] = mapped_column(String(64))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(30))


class LeaseRow(Base):
    """Leadership leases: only the holder of 'scheduler' runs APScheduler on this database."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ProposalRow(Base):
    """A level a rule reached, waiting for the duty officer (or declared at once in `auto` mode)."""

    __tablename__ = "proposals"
    __table_args__ = (Index("ix_proposals_status", "status", "hazard"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hazard: Mapped[str] = mapped_column(String(40))
    level: Mapped[int | None] = mapped_column(Integer)
    """None proposes standing down."""
    action: Mapped[str] = mapped_column(String(12))
    """raise, upgrade, downgrade or end: what confirming it does."""
    rule_id: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(10))
    evidence: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    """pending → confirmed | rejected | superseded | declared (auto)."""
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))


class RateSlotRow(Base):
    """The next free send slot per sender, shared by every worker on the database."""

    __tablename__ = "rate_slots"
    sender: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)
    """Seconds since the epoch (wall clock): workers on several machines keep NTP time."""


class DeliveryReceiptRow(Base):
    """Every provider status callback, kept; one that beats the sender's commit is applied afterwards."""

    __tablename__ = "delivery_receipts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sid: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[datetime]
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
