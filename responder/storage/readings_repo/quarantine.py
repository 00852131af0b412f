"""Rows the feed readers refused, kept once each with their reason (``feeds quarantine``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Table,
    select,
)
from sqlalchemy.orm import Session

from responder.domain.readings import Rejected
from responder.storage.feed_models import (
    QuarantineRow,
)
from responder.storage.readings_repo.bulk import (
    chunks,
    insert_for,
)


def quarantine(session: Session, rejected: Iterable[Rejected], now: datetime) -> int:
    """Keep rejected rows with their reason; a row seen again only updates when and how often."""
    rows: dict[str, dict[str, Any]] = {}
    for r in rejected:
        fingerprint = hashlib.sha256("\x1f".join((r.feed, r.station or "", r.raw, r.reason)).encode()).hexdigest()
        rows[fingerprint] = {"fingerprint": fingerprint, "feed": r.feed, "station": r.station, "raw": r.raw,
                             "reason": r.reason, "location": (r.location or "")[:300] or None, "at": now,
                             "last_seen_at": now, "times_seen": 1}
    table = QuarantineRow.__table__
    assert isinstance(table, Table)
    for chunk in chunks(list(rows.values())):
        stmt = insert_for(session, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["fingerprint"],
            set_={"last_seen_at": stmt.excluded.last_seen_at, "times_seen": table.c.times_seen + 1,
                  "location": stmt.excluded.location})
        session.execute(stmt, chunk)
    return len(rows)



def quarantined(session: Session, limit: int = 100, feed: str | None = None) -> list[QuarantineRow]:
    """The most recently seen quarantined rows, newest first (``feeds quarantine``)."""
    query = select(QuarantineRow).order_by(QuarantineRow.last_seen_at.desc(), QuarantineRow.id.desc()).limit(limit)
    if feed is not None:
        query = query.where(QuarantineRow.feed == feed)
    return list(session.scalars(query))

