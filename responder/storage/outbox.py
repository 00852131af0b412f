"""The outbox as the dispatcher works it: claiming due rows, looking at them again, recording each attempt.

Every function runs on the caller's Connection, in the caller's transaction: the dispatcher decides what goes
into one (a claim; a look again; the record of what the gateway said). The statements are built once: the
dispatcher runs them for every batch, and building a statement costs more than running it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Table,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.dml import ReturningUpdate

from responder.storage.incidents import PENDING_STATES
from responder.storage.models import DeliveryReceiptRow, IncidentRow, OutboxRow, RecipientRow, SendAttemptRow
from responder.storage.types import UTCDateTime


@dataclass(frozen=True)
class Claimed:
    """An outbox row a worker has marked 'sending': what handing it to the gateway needs."""

    id: int
    to: str
    body: str
    channel: str
    sender: str
    attempts: int
    deadline_at: datetime
    incident_id: int | None
    person_id: str | None
    kind: str
    language: str
    fields: dict[str, str] | None = field(default=None, compare=False)
    """The values the text was filled with, for a template-only provider's parameters."""


@dataclass(frozen=True)
class Abandoned:
    """A row left 'sending' past the claim timeout (its worker died), now claimed by this one."""

    item: Claimed
    created_at: datetime


def _claimed(row: Any) -> Claimed:
    return Claimed(row.id, row.to_number, row.body, row.channel, row.sender, row.attempts, row.deadline_at,
                   row.incident_id, row.person_id, row.kind, row.language, row.fields)


_NOW = bindparam("now", type_=UTCDateTime())
_SEND_COLUMNS = (OutboxRow.id, OutboxRow.to_number, OutboxRow.body, OutboxRow.channel, OutboxRow.sender,
                 OutboxRow.attempts, OutboxRow.deadline_at, OutboxRow.incident_id, OutboxRow.person_id,
                 OutboxRow.kind, OutboxRow.language, OutboxRow.fields)
_DUE = (select(OutboxRow.id).where(OutboxRow.status == "pending", OutboxRow.due_at <= _NOW)
        .order_by(OutboxRow.due_at, OutboxRow.id).limit(bindparam("limit")))
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True)


def _look_columns(prefix: str = "") -> tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...]:
    """What ``look_again`` reads besides the columns sending needs, as a claim's RETURNING can give it: sub-selects,
    not joins, on the claimed row's columns named in full (SQLite renders RETURNING with bare names, which inside a
    sub-select would name the sub-select's own table's). ``prefix`` "+" on SQLite: there the row's columns in a
    RETURNING keep their affinity, and the recipient sub-select would then find the person's row through the
    incident's index alone, walking the whole call-out for each claimed row."""
    incident: ColumnElement[int] = literal_column(f"{prefix}outbox.incident_id")
    person: ColumnElement[str] = literal_column(f"{prefix}outbox.person_id")
    return (OutboxRow.status, OutboxRow.claimed_by, OutboxRow.created_at,
            select(RecipientRow.confirmed_at)
            .where(RecipientRow.incident_id == incident, RecipientRow.person_id == person)
            .scalar_subquery().label("confirmed_at"),
            select(IncidentRow.status).where(IncidentRow.id == incident).scalar_subquery().label("incident_status"),
            select(IncidentRow.ended_at).where(IncidentRow.id == incident).scalar_subquery().label("ended_at"))


def _take(rows: ColumnElement[bool],
          look: tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...] = ()) -> ReturningUpdate[*tuple[Any, ...]]:
    """Claim ``rows`` and return what sending them needs, and the ``look`` columns."""
    return (update(OutboxRow).where(rows).values(status="sending", claimed_at=_NOW, claimed_by=bindparam("worker"))
            .returning(*_SEND_COLUMNS, *look))


_PICKED = and_(OutboxRow.id.in_(bindparam("ids", expanding=True)), OutboxRow.status == "pending")
_TAKE, _TAKE_LOOKING = _take(_PICKED), _take(_PICKED, _look_columns())
"""PostgreSQL: the rows ``_DUE_SKIP_LOCKED`` picked (and locked), if still pending."""
TAKE_DUE, TAKE_DUE_LOOKING = _take(OutboxRow.id.in_(_DUE)), _take(OutboxRow.id.in_(_DUE), _look_columns("+"))
"""SQLite: pick and take in one statement, under the write lock: what the sub-select picks is pending when it is
taken. Naming the status again outside it would make SQLite walk every pending row through the status index
instead of looking up the picked ones by id: a claim would cost as much as the whole queue.
Not on PostgreSQL: there a LIMITed FOR UPDATE SKIP LOCKED sub-select inside an UPDATE is not run just once, and
the statement took every pending row."""
_ABANDONED = (update(OutboxRow).where(OutboxRow.status == "sending",
                                      OutboxRow.claimed_at < bindparam("before", type_=UTCDateTime()))
              .values(claimed_at=_NOW, claimed_by=bindparam("worker"))
              .returning(*_SEND_COLUMNS, OutboxRow.created_at))
_LOOK_AGAIN = (select(OutboxRow.id, OutboxRow.kind, *_look_columns())
               .where(OutboxRow.id.in_(bindparam("ids", expanding=True))))
"""The same columns a claim that looks again returns (``_look_columns``), for rows claimed in an earlier transaction."""
_outbox = OutboxRow.__table__
_attempts = SendAttemptRow.__table__
assert isinstance(_outbox, Table) and isinstance(_attempts, Table)
_MARK_SENT = (update(_outbox).where(_outbox.c.id == bindparam("oid"), _outbox.c.status == "sending",
                                    _outbox.c.claimed_by == bindparam("worker"))
              .values(status="sent", attempts=bindparam("new_attempts"), sid=bindparam("new_sid"),
                      sent_at=bindparam("new_sent_at", type_=UTCDateTime())))
_ATTEMPT = insert(_attempts)
_KNOWN_SIDS = select(OutboxRow.sid).where(OutboxRow.sid.in_(bindparam("sids", expanding=True)))
_EARLY = select(DeliveryReceiptRow.sid).where(DeliveryReceiptRow.sid.in_(bindparam("sids", expanding=True)),
                                              DeliveryReceiptRow.applied.is_(False))


def _ours(outbox_id: int, worker: str) -> ColumnElement[bool]:
    """The row, if it is still 'sending' under this worker's claim (another worker may have taken it over)."""
    return and_(OutboxRow.id == outbox_id, OutboxRow.status == "sending", OutboxRow.claimed_by == worker)


# -- claiming -----------------------------------------------------------------------------------------------------
def claim_due(conn: Connection, now: datetime, limit: int, worker: str) -> list[Claimed]:
    """Mark up to ``limit`` due rows 'sending' for ``worker``, in id order: FOR UPDATE SKIP LOCKED on PostgreSQL,
    the write lock on SQLite."""
    return [_claimed(row) for row in _claim(conn, now, limit, worker, look=False)]


def claim_and_look(conn: Connection, now: datetime, limit: int,
                   worker: str) -> tuple[list[Claimed], dict[int, Row[*tuple[Any, ...]]]]:
    """``claim_due``, and what ``look_again`` would read of the rows claimed, from the same statement: for a batch
    looked at again in its claim's transaction."""
    rows = _claim(conn, now, limit, worker, look=True)
    return [_claimed(row) for row in rows], {row.id: row for row in rows}


def _claim(conn: Connection, now: datetime, limit: int, worker: str, look: bool) -> list[Row[*tuple[Any, ...]]]:
    if conn.dialect.name == "postgresql":
        ids = list(conn.scalars(_DUE_SKIP_LOCKED, {"now": now, "limit": limit}))
        rows = conn.execute(_TAKE_LOOKING if look else _TAKE, {"ids": ids, "now": now, "worker": worker}).all() \
            if ids else []
    else:
        rows = conn.execute(TAKE_DUE_LOOKING if look else TAKE_DUE,
                            {"now": now, "limit": limit, "worker": worker}).all()
    return sorted(rows, key=lambda row: row.id)


def keep_claims(conn: Connection, ids: Sequence[int], worker: str, now: datetime) -> None:
    """Renew the claim time of rows ``worker`` still holds, so that no other worker takes them for abandoned."""
    conn.execute(update(OutboxRow).where(OutboxRow.id.in_(ids), OutboxRow.status == "sending",
                                         OutboxRow.claimed_by == worker).values(claimed_at=now))


def look_again(conn: Connection, ids: Sequence[int]) -> dict[int, Row[*tuple[Any, ...]]]:
    """The rows' state now: status and claim, kind and age, the person's confirmation and the incident's end."""
    return {row.id: row for row in conn.execute(_LOOK_AGAIN, {"ids": list(ids)})}


def take_abandoned(conn: Connection, before: datetime, now: datetime, worker: str) -> list[Abandoned]:
    """Claim for ``worker`` the rows left 'sending' since before ``before``."""
    return [Abandoned(_claimed(row), row.created_at)
            for row in conn.execute(_ABANDONED, {"before": before, "now": now, "worker": worker})]


# -- recording ----------------------------------------------------------------------------------------------------
def add_attempt(conn: Connection, outbox_id: int, at: datetime, worker: str, outcome: str, code: str | None,
                detail: str | None) -> None:
    conn.execute(_ATTEMPT, {"outbox_id": outbox_id, "at": at, "worker": worker, "outcome": outcome,
                            "error_code": code, "detail": detail})


def mark_sent(conn: Connection, sent: Sequence[tuple[Claimed, str]], worker: str,
              now: datetime) -> tuple[set[int], dict[int, int | None]]:
    """Record ``(row, provider id)`` pairs as sent, in a few statements however many there are.

    Returns the ids this worker's claim still held (the others were taken over meanwhile), and the rows whose
    provider id another row already has, by id, with that row's id: the gateway accepted them all the same, so they
    are marked sent without the id (provider ids stay unique in the outbox, so that a delivery receipt names one
    message). A row left 'sending' instead would be sent again by reconciliation.
    """
    if not sent:
        return set(), {}
    params = [{"oid": item.id, "worker": worker, "new_attempts": item.attempts + 1, "new_sid": sid,
               "new_sent_at": now} for item, sid in sent]
    if conn.dialect.name == "sqlite":
        # The transaction holds SQLite's write lock (BEGIN IMMEDIATE): no other writer can store one of these ids
        # between this question and the UPDATE, so asking first spares the savepoint that a clash would need.
        given = [sid for _, sid in sent]
        if len(set(given)) < len(given) or known_sids(conn, given):
            return _mark_sent_one_by_one(conn, params)
        marked = conn.execute(_MARK_SENT, params)
    else:
        try:
            with conn.begin_nested():
                marked = conn.execute(_MARK_SENT, params)
        except IntegrityError:
            return _mark_sent_one_by_one(conn, params)
    ours = {item.id for item, _ in sent}
    if marked.rowcount != len(sent) or not conn.dialect.supports_sane_multi_rowcount:
        stored = conn.execute(select(OutboxRow.id, OutboxRow.sid).where(OutboxRow.id.in_(ours)))
        sids = {oid: stored_sid for oid, stored_sid in stored}
        ours = {item.id for item, sid in sent if sids.get(item.id) == sid}
    return ours, {}


def _mark_sent_one_by_one(conn: Connection, params: list[dict[str, Any]]) -> tuple[set[int], dict[int, int | None]]:
    ours: set[int] = set()
    clashes: dict[int, int | None] = {}
    for row in params:
        try:
            with conn.begin_nested():
                changed = conn.execute(_MARK_SENT, row).rowcount
        except IntegrityError:
            clashes[row["oid"]] = conn.scalar(select(OutboxRow.id).where(OutboxRow.sid == row["new_sid"]))
            changed = conn.execute(_MARK_SENT, {**row, "new_sid": None}).rowcount
        if changed:
            ours.add(row["oid"])
    return ours, clashes


def add_sent_attempts(conn: Connection, sent: Sequence[tuple[int, str]], worker: str, now: datetime) -> None:
    """An attempt 'sent' for each ``(outbox id, detail)``, in one statement."""
    conn.execute(_ATTEMPT, [{"outbox_id": oid, "at": now, "worker": worker, "outcome": "sent", "error_code": None,
                             "detail": detail} for oid, detail in sent])


def early_receipts(conn: Connection, sids: Iterable[str]) -> set[str]:
    """Which of ``sids`` have a delivery receipt waiting: the provider's callback arrived before the sid was stored."""
    return set(conn.scalars(_EARLY, {"sids": list(sids)}))


def cancel(conn: Connection, outbox_id: int, worker: str, now: datetime, why: str) -> bool:
    """A claimed row no longer wanted: cancelled, if this worker still holds it."""
    return bool(conn.execute(update(OutboxRow).where(_ours(outbox_id, worker))
                             .values(status="cancelled", final_at=now, error_message=why)).rowcount)


def retry_later(conn: Connection, item: Claimed, worker: str, due: datetime, code: str | None, message: str) -> bool:
    """Back to 'pending' until ``due``, one attempt more, if this worker still holds it."""
    return bool(conn.execute(
        update(OutboxRow).where(_ours(item.id, worker))
        .values(status="pending", due_at=due, attempts=item.attempts + 1, error_code=code,
                error_message=message[:500], claimed_at=None, claimed_by=None)).rowcount)


def finish(conn: Connection, item: Claimed, worker: str, status: str, code: str | None, message: str,
           now: datetime) -> bool:
    """A row that will not be sent (failed), with the gateway's reason, if this worker still holds it."""
    return bool(conn.execute(
        update(OutboxRow).where(_ours(item.id, worker))
        .values(status=status, attempts=item.attempts + 1, error_code=code, final_at=now,
                error_message=message)).rowcount)


def known_sids(conn: Connection, sids: Sequence[str]) -> set[str]:
    """Which of the provider's ``sids`` are already recorded on some row."""
    return set(conn.scalars(_KNOWN_SIDS, {"sids": list(sids)})) if sids else set()


def reconciled_sent(conn: Connection, item: Claimed, sid: str, sent_at: datetime) -> None:
    """An abandoned row the provider has as sent: recorded so, not sent again."""
    conn.execute(update(OutboxRow).where(OutboxRow.id == item.id)
                 .values(status="sent", sid=sid, sent_at=sent_at, attempts=item.attempts + 1))


def send_again(conn: Connection, outbox_id: int) -> None:
    """An abandoned row the provider has no record of: back to 'pending', unclaimed."""
    conn.execute(update(OutboxRow).where(OutboxRow.id == outbox_id)
                 .values(status="pending", claimed_at=None, claimed_by=None))


# -- the queue ------------------------------------------------------------------------------------------------------
def pending_count(conn: Connection, incident_id: int | None = None) -> int:
    """Rows not yet handed over ('pending' or 'sending'), of one incident or of all."""
    query = select(func.count()).select_from(OutboxRow).where(OutboxRow.status.in_(PENDING_STATES))
    if incident_id is not None:
        query = query.where(OutboxRow.incident_id == incident_id)
    return conn.scalar(query) or 0


def queue_depth(conn: Connection) -> tuple[int, datetime | None]:
    """How many rows wait to be sent, and when the oldest of them was queued."""
    depth, oldest = conn.execute(select(func.count(), func.min(OutboxRow.created_at))
                                 .where(OutboxRow.status.in_(PENDING_STATES))).one()
    return int(depth), oldest


def claim_failure_reports(conn: Connection | Any, ids: Sequence[int]) -> set[int]:
    """Mark failed rows reported and return those *this* transaction marked (a conditional UPDATE ... RETURNING).

    Two workers that both saw the rows unreported: on PostgreSQL the second one's UPDATE waits for the first's
    commit and then finds them reported; on SQLite the write lock orders them. Each failure is summarised once.
    """
    if not ids:
        return set()
    claimed = conn.execute(update(OutboxRow).where(OutboxRow.id.in_(list(ids)), OutboxRow.failure_reported.is_(False))
                           .values(failure_reported=True).returning(OutboxRow.id))
    return {int(oid) for oid in claimed.scalars()}
