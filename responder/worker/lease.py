"""Leadership through a lease row: one holder at a time, taken over when it stops renewing.

A row in the project's own database (SQLite or PostgreSQL) rather than a separate lock service:
the holder renews it every few seconds; if it dies, the lease expires and a standby takes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from responder.app.ports import Context
from responder.storage.db import transaction
from responder.storage.models import LeaseRow


@dataclass(frozen=True)
class LeaseState:
    held: bool
    holder: str | None
    expires_at: datetime | None


def try_acquire(ctx: Context, name: str, holder: str, ttl: timedelta) -> LeaseState:
    """Take or renew the lease; returns who holds it afterwards."""
    now = ctx.clock.now()
    try:
        with transaction(ctx.sessions) as session:
            query = select(LeaseRow).where(LeaseRow.name == name)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update()
            row = session.scalar(query)
            if row is None:
                session.add(LeaseRow(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
                return LeaseState(True, holder, now + ttl)
            if row.holder == holder or row.expires_at <= now:
                if row.holder != holder:
                    row.holder, row.acquired_at = holder, now
                row.expires_at = now + ttl
                return LeaseState(True, holder, row.expires_at)
            return LeaseState(False, row.holder, row.expires_at)
    except IntegrityError:
        return current(ctx, name)  # another process inserted it at the same moment: it holds the lease
    except OperationalError:
        return LeaseState(False, None, None)  # the database is busy: try again at the next renewal


def release(ctx: Context, name: str, holder: str) -> None:
    with transaction(ctx.sessions) as session:
        row = session.get(LeaseRow, name)
        if row is not None and row.holder == holder:
            session.delete(row)


def current(ctx: Context, name: str) -> LeaseState:
    with ctx.sessions() as session:
        row = session.get(LeaseRow, name)
    if row is None or row.expires_at <= ctx.clock.now():
        return LeaseState(False, None, None)
    return LeaseState(False, row.holder, row.expires_at)
