"""Incidents, their recipients, the outbox and the audit trail, as stored."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Insert, Table, Text, cast, func, insert, literal, select, update
from sqlalchemy.orm import Session, undefer
from sqlalchemy.sql.elements import SQLCoreOperations

from responder.domain.redact import redact, redact_values
from responder.storage.db import locked
from responder.storage.models import AuditEventRow, InboundMessageRow, IncidentRow, OutboxRow, RecipientRow

if TYPE_CHECKING:  # the call-out's model is imported by the writers that build it: readers (alert status) skip it
    from responder.domain.incidents import OutgoingMessage, RecipientPlan

PENDING_STATES = ("pending", "sending")
RECIPIENTS: Table = RecipientRow.__table__  # type: ignore[assignment]
OUTBOX: Table = OutboxRow.__table__  # type: ignore[assignment]
AUDIT: Table = AuditEventRow.__table__  # type: ignore[assignment]
TOLD_STATES = ("sending", "sent", "delivered", "undelivered")
_INSERT: dict[str, Insert] = {}
"""One INSERT statement per table, built once: its cache key is then computed once too."""

Db = Session | Connection
"""Where the writers below write: a Session's transaction, or a bare Connection's (the SMS reply path, which
loads no ORM objects and so skips the Session's overhead)."""


def connection_of(db: Db) -> Connection:
    return db.connection() if isinstance(db, Session) else db


def one_of(column: SQLCoreOperations[str], values: Iterable[str]) -> ColumnElement[bool]:
    """``column IN (values)`` for a fixed list, as plain bound values, in statements built once for hot paths:
    an expanding IN (what ``in_`` makes of a list) is rendered again on every execution, at a cost above that of a
    small query itself."""
    return column.in_([literal(v) for v in values])


def incident_with_snapshot(session: Session, incident_id: int) -> IncidentRow | None:
    """One incident with its (deferred) plan and roster snapshots loaded, for use after the session closes."""
    return session.scalar(select(IncidentRow).where(IncidentRow.id == incident_id)
                          .options(undefer(IncidentRow.plan_snapshot), undefer(IncidentRow.roster_snapshot)))


def open_incidents(session: Session, include_drills: bool = True) -> list[IncidentRow]:
    query = select(IncidentRow).where(IncidentRow.status == "open").order_by(IncidentRow.id)
    if not include_drills:
        query = query.where(IncidentRow.is_drill.is_(False))
    return list(session.scalars(query))


def recipients_of(session: Session, incident_id: int) -> list[RecipientRow]:
    return list(session.scalars(select(RecipientRow).where(RecipientRow.incident_id == incident_id)
                                .order_by(RecipientRow.id)))


class RecipientState(NamedTuple):
    person_id: str
    name: str
    phone: str
    assignments: list[Any]
    confirmed_at: datetime | None
    confirmed_channel: str | None


_STATES = (select(RecipientRow.person_id, RecipientRow.name, RecipientRow.phone,
                  cast(RecipientRow.assignments, Text), RecipientRow.confirmed_at, RecipientRow.confirmed_channel)
           .order_by(RecipientRow.id))


def recipient_states(session: Session, incident_id: int) -> list[RecipientState]:
    """What a status view needs of each recipient, as plain tuples: no ORM objects, and each distinct assignment
    list decoded once (the members of a group share theirs), which were most of a 2,000-person status."""
    decoded: dict[str, list[Any]] = {}
    out = []
    for person, name, phone, raw, confirmed_at, channel in session.execute(
            _STATES.where(RecipientRow.incident_id == incident_id)):
        assignments = decoded.get(raw)
        if assignments is None:
            assignments = decoded[raw] = json.loads(raw)
        out.append(RecipientState(person, name, phone, assignments, confirmed_at, channel))
    return out


def recipient_plans(rows: Iterable[RecipientRow]) -> dict[str, RecipientPlan]:
    from responder.domain.callout import Contact
    from responder.domain.incidents import Assignment, RecipientPlan

    return {
        r.person_id: RecipientPlan(Contact(r.person_id, r.name, r.phone, r.language),
                                   [Assignment.from_dict(a) for a in r.assignments])
        for r in rows
    }


def save_recipients(session: Session, incident_id: int, plans: dict[str, RecipientPlan], level: int,
                    now: datetime) -> None:
    """Insert new recipients in bulk and update the assignments of existing ones."""
    existing = {r.person_id: r for r in recipients_of(session, incident_id)}
    new_rows = []
    as_dicts: dict[int, dict[str, Any]] = {}  # assignments are frozen and shared by many recipients
    for pid, plan in plans.items():
        assignments = [as_dicts.get(id(a)) or as_dicts.setdefault(id(a), a.to_dict()) for a in plan.assignments]
        row = existing.get(pid)
        if row is None:
            new_rows.append(dict(incident_id=incident_id, person_id=pid, name=plan.contact.name,
                                 phone=plan.contact.phone, language=plan.contact.language, assignments=assignments,
                                 called_at=now, called_level=level))
        else:
            row.assignments = assignments
            row.called_level = level
    if new_rows:
        insert_many(session, RECIPIENTS, new_rows)
    from responder.storage.callouts import CALLOUTS, callout_rows

    history = callout_rows(incident_id, {pid: plan.assignments for pid, plan in plans.items()}, level, now)
    if history:
        insert_many(session, CALLOUTS, history)


COPY_FROM = 200
"""From this many rows on, PostgreSQL gets them by COPY rather than one INSERT each."""


def insert_many(db: Db, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) in the caller's transaction, as fast as the engine allows.

    On PostgreSQL with psycopg, a large batch goes by COPY: 10,000 single-row INSERTs keep the server busy for half
    a second between the duty officer's confirm and the first SMS; COPY takes a tenth of that. Values pass through
    the columns' own bind processing (aware-UTC times, JSONB) exactly as an INSERT would.
    """
    if not rows:
        return
    conn = connection_of(db)
    dialect = conn.dialect
    if dialect.name != "postgresql" or dialect.driver != "psycopg" or len(rows) < COPY_FROM:
        statement = _INSERT.get(table.name)
        if statement is None:
            statement = _INSERT[table.name] = insert(table)
        conn.execute(statement, list(rows))
        return
    columns = list(rows[0])
    processors = [(i, process) for i, name in enumerate(columns)
                  if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    preparer = dialect.identifier_preparer
    sql = (f"COPY {preparer.format_table(table)} ({', '.join(preparer.quote(name) for name in columns)}) "
           "FROM STDIN")
    with conn.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
        for row in rows:
            values = [row[name] for name in columns]
            for i, process in processors:
                values[i] = process(values[i])
            copy.write_row(values)


def enqueue(db: Db, incident_id: int | None, messages: Sequence[OutgoingMessage], now: datetime,
            deadline: timedelta, sender: str, due_at: datetime | None = None,
            dedupe: Sequence[str | None] | None = None) -> int:
    """Write messages to the outbox (in the caller's transaction): the seam between decision and sending."""
    if not messages:
        return 0
    due = due_at or now
    same = dict(incident_id=incident_id, sender=sender, status="pending", created_at=now, due_at=due,
                deadline_at=due + deadline, attempts=0, failure_reported=False, dedupe_key=None)
    rows = [{**same, "person_id": m.contact.id, "channel": m.channel, "to_number": m.contact.phone, "body": m.text,
             "language": m.contact.language, "kind": m.kind,
             "fields": dict(m.fields) if m.fields is not None else None} for m in messages]
    if dedupe:
        for row, key in zip(rows, dedupe, strict=True):
            row["dedupe_key"] = key
    insert_many(db, OUTBOX, rows)
    return len(rows)


def cancel_pending(session: Session, incident_id: int, now: datetime, person_id: str | None = None,
                   keep_kinds: Sequence[str] = ()) -> int:
    """Cancel messages not yet handed to the gateway (stand-down, or a person who confirmed)."""
    query = (update(OutboxRow)
             .where(OutboxRow.incident_id == incident_id, OutboxRow.status == "pending")
             .values(status="cancelled", final_at=now))
    if person_id is not None:
        query = query.where(OutboxRow.person_id == person_id)
    if keep_kinds:
        query = query.where(OutboxRow.kind.not_in(keep_kinds))
    return session.execute(query).rowcount  # type: ignore[attr-defined, no-any-return]


def told_person_ids(session: Session, incident_id: int) -> set[str]:
    """People who were actually handed at least one message (or may have been: 'sending')."""
    rows = session.execute(select(OutboxRow.person_id).where(
        OutboxRow.incident_id == incident_id, OutboxRow.status.in_(TOLD_STATES)).distinct())
    return {pid for (pid,) in rows if pid}


def audit(db: Db, at: datetime, actor: str, kind: str, summary: str, incident_id: int | None = None,
          reason: str | None = None, evidence: dict[str, Any] | None = None) -> None:
    """Append one audit event. There is no update or delete anywhere: the database refuses them too.

    Written at once by a Core INSERT: an ORM object would cost a unit-of-work flush on every reply.
    """
    insert_many(db, AUDIT, [dict(incident_id=incident_id, at=at, actor=actor, kind=kind, summary=redact(summary),
                                 reason=redact(reason) if reason else reason,
                                 evidence=redact_values(evidence or {}))])


def audit_events(session: Session, incident_id: int) -> list[AuditEventRow]:
    return list(session.scalars(select(AuditEventRow).where(AuditEventRow.incident_id == incident_id)
                                .order_by(AuditEventRow.at, AuditEventRow.id)))


def handled_replies(session: Session, incident_id: int, outcomes: Sequence[str]) -> list[tuple[str, datetime]]:
    """(person, time) of the incident's replies that were confirmations, a repeated one included: a reply to a
    later call-out (another group, after an upgrade) is a confirmation of that call even when not the first."""
    rows = session.execute(select(InboundMessageRow.person_id, InboundMessageRow.received_at).where(
        InboundMessageRow.incident_id == incident_id, InboundMessageRow.outcome.in_(list(outcomes)),
        InboundMessageRow.person_id.is_not(None)))
    return [(str(pid), at) for pid, at in rows]


def incidents_newest_first(session: Session, include_ended: bool, limit: int) -> list[IncidentRow]:
    query = select(IncidentRow).order_by(IncidentRow.id.desc()).limit(limit)
    if not include_ended:
        query = query.where(IncidentRow.status == "open")
    return list(session.scalars(query))


def incident(session: Session, incident_id: int) -> IncidentRow | None:
    return session.get(IncidentRow, incident_id)


def message_states(session: Session, incident_id: int) -> list[tuple[str | None, str, str]]:
    """(person, status, kind) of every outbox message of an incident."""
    rows = session.execute(select(OutboxRow.person_id, OutboxRow.status, OutboxRow.kind)
                           .where(OutboxRow.incident_id == incident_id))
    return [(r.person_id, r.status, r.kind) for r in rows]


def recent_inbound(session: Session, limit: int, except_outcomes: Sequence[str] = ()) -> list[InboundMessageRow]:
    query = select(InboundMessageRow).order_by(InboundMessageRow.id.desc()).limit(limit)
    if except_outcomes:
        query = query.where(InboundMessageRow.outcome.not_in(except_outcomes))
    return list(session.scalars(query))


def incident_for_change(session: Session, incident_id: int, for_update: bool = True) -> IncidentRow | None:
    """The incident, locked for this transaction on PostgreSQL (SQLite's single writer needs no lock)."""
    query = select(IncidentRow).where(IncidentRow.id == incident_id)
    return session.scalar(locked(session, query) if for_update else query)


def incident_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(IncidentRow)) or 0


def add_incident(session: Session, row: IncidentRow) -> IncidentRow:
    """Stores a new incident and flushes, so its id is known (and a second open one of the same key refused)."""
    session.add(row)
    session.flush()
    return row


def message(session: Session, outbox_id: int) -> OutboxRow | None:
    return session.get(OutboxRow, outbox_id)


def call_text(session: Session, outbox_id: int) -> tuple[str, str] | None:
    """(body, language) of one outbox message, without loading the row."""
    row = session.execute(select(OutboxRow.body, OutboxRow.language).where(OutboxRow.id == outbox_id)).first()
    return None if row is None else (row[0], row[1])


_OPEN_LEVELS = {drill: select(IncidentRow.hazard, IncidentRow.level).where(
    IncidentRow.status == "open", IncidentRow.is_drill.is_(drill)) for drill in (False, True)}
"""Built once: building a statement costs about as much as running it, and every feed cycle asks."""


def open_levels(session: Session, drill: bool) -> dict[str, int | None]:
    """The level each hazard's open incident stands at (live ones, or drills)."""
    return {hazard: level for hazard, level in session.execute(_OPEN_LEVELS[drill])}
