"""The lease rows behind leadership (worker/lease.py): one holder per name, taken over once expired."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from responder.storage.db import locked
from responder.storage.models import LeaseRow


def take_or_renew(session: Session, name: str, holder: str, now: datetime,
                  ttl: timedelta) -> tuple[bool, str | None, datetime | None]:
    """(held, holder, expires_at) after trying: PostgreSQL locks the row so two renewals cannot both win; SQLite's
    single writer does the same. An IntegrityError at commit means another process inserted the row first."""
    row = session.scalar(locked(session, select(LeaseRow).where(LeaseRow.name == name)))
    if row is None:
        session.add(LeaseRow(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
        return True, holder, now + ttl
    if row.holder == holder or row.expires_at <= now:
        if row.holder != holder:
            row.holder, row.acquired_at = holder, now
        row.expires_at = now + ttl
        return True, holder, row.expires_at
    return False, row.holder, row.expires_at


def release(session: Session, name: str, holder: str) -> None:
    row = session.get(LeaseRow, name)
    if row is not None and row.holder == holder:
        session.delete(row)


def holder_of(session: Session, name: str) -> tuple[str, datetime] | None:
    row = session.get(LeaseRow, name)
    return None if row is None else (row.holder, row.expires_at)
