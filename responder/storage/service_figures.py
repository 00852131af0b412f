"""What ``/healthz`` and ``/metrics`` read: the outbox by state, the scheduler lease, feed health, open incidents.

Four small aggregate queries on a reading connection (no write lock on SQLite), computed at scrape time from the
database so that every worker answers the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, case, func, select

from responder.storage.feed_models import FeedStatusRow
from responder.storage.incidents import PENDING_STATES
from responder.storage.models import IncidentRow, LeaseRow, OutboxRow


@dataclass(frozen=True, slots=True)
class OutboxState:
    """One (status, channel) group of outbox rows."""

    status: str
    channel: str
    count: int
    handed_over: int
    """Rows of the group the provider accepted (``sent_at`` set), ever."""
    handed_over_since: int
    """Of those, accepted at or after the ``since`` asked for."""
    due: int
    """Rows due by now (meaningful for pending and sending rows: the backlog)."""
    oldest_due_at: datetime | None
    """When the longest-waiting of those became due."""


def outbox_states(conn: Connection, now: datetime, since: datetime) -> list[OutboxState]:
    """One pass over the outbox, grouped by status and channel."""
    due = OutboxRow.due_at <= now
    query = (select(OutboxRow.status, OutboxRow.channel, func.count(),
                    func.count(OutboxRow.sent_at),
                    func.sum(case((OutboxRow.sent_at >= since, 1), else_=0)),
                    func.sum(case((due, 1), else_=0)),
                    func.min(case((due, OutboxRow.due_at), else_=None)))
             .group_by(OutboxRow.status, OutboxRow.channel))
    return [OutboxState(str(status), str(channel), int(count), int(handed or 0), int(recent or 0), int(due_now or 0),
                        oldest) for status, channel, count, handed, recent, due_now, oldest in conn.execute(query)]


def is_unsent(status: str) -> bool:
    return status in PENDING_STATES


def lease_holder(conn: Connection, name: str, now: datetime) -> tuple[str, datetime] | None:
    """Who holds the lease ``name`` and until when, if it has not expired."""
    row = conn.execute(select(LeaseRow.holder, LeaseRow.expires_at).where(LeaseRow.name == name)).one_or_none()
    if row is None or row[1] <= now:
        return None
    return str(row[0]), row[1]


def feed_health(conn: Connection) -> dict[str, tuple[datetime | None, datetime | None]]:
    """Per feed that has been read: (last success, last error)."""
    rows = conn.execute(select(FeedStatusRow.ref, FeedStatusRow.last_ok_at, FeedStatusRow.last_error_at)
                        .where(FeedStatusRow.kind == "feed"))
    return {str(ref): (ok, error) for ref, ok, error in rows}


def open_incidents(conn: Connection) -> list[tuple[str, int, bool, int]]:
    """(hazard, level, drill, count) of the open incidents."""
    query = (select(IncidentRow.hazard, IncidentRow.level, IncidentRow.is_drill, func.count())
             .where(IncidentRow.status == "open")
             .group_by(IncidentRow.hazard, IncidentRow.level, IncidentRow.is_drill))
    return [(str(h), int(level), bool(drill), int(n)) for h, level, drill, n in conn.execute(query)]
