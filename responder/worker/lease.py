"""Leadership through a lease row: one holder at a time, taken over when it stops renewing.

A row in the project's own database (SQLite or PostgreSQL) rather than a separate lock service:
the holder renews it every few seconds; if it dies, the lease expires and a standby takes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError, OperationalError

from responder.app.ports import Context
from responder.storage import leases
from responder.storage.db import transaction


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
            return LeaseState(*leases.take_or_renew(session, name, holder, now, ttl))
    except IntegrityError:
        return current(ctx, name)  # another process inserted it at the same moment: it holds the lease
    except OperationalError:
        return LeaseState(False, None, None)  # the database is busy: try again at the next renewal


def release(ctx: Context, name: str, holder: str) -> None:
    with transaction(ctx.sessions) as session:
        leases.release(session, name, holder)


def current(ctx: Context, name: str) -> LeaseState:
    with ctx.sessions() as session:
        found = leases.holder_of(session, name)
    if found is None or found[1] <= ctx.clock.now():
        return LeaseState(False, None, None)
    return LeaseState(False, *found)
