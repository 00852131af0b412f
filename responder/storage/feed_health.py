"""Feed health in ``feed_status``: the stale alarm's state, what the outbox already told one person, and the
parameters a feed sends that the plan does not map."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from responder.domain.stale_alarms import ALARM_KINDS, FeedWatch, StationWatch
from responder.storage.feed_models import FeedStatusRow
from responder.storage.models import OutboxRow

_ALARMED = select(FeedStatusRow).where(FeedStatusRow.kind.in_(("station", "feed")),
                                       FeedStatusRow.stale_since.is_not(None))
_ANY_ALARMED = select(_ALARMED.with_only_columns(FeedStatusRow.ref).limit(1).exists())
_LOCK_KEY = zlib.crc32(b"responder: stale-feed alarms")


def lock_alarms(session: Session) -> None:
    """One process at a time decides stale-feed alarms (PostgreSQL; SQLite's write transaction already is)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))


def any_alarmed(conn: Connection) -> bool:
    """Whether any station or feed is alarmed: the question of nearly every cycle, on a read-only connection."""
    return bool(conn.scalar(_ANY_ALARMED))


def alarm_state(session: Session) -> tuple[dict[str, StationWatch], dict[str, FeedWatch]]:
    """The stations alarmed and the feeds with silent stations announced: one query, usually no rows."""
    stations: dict[str, StationWatch] = {}
    feeds: dict[str, FeedWatch] = {}
    for row in session.scalars(_ALARMED):
        if row.kind == "station":
            stations[row.ref] = StationWatch(row.stale_since, row.fresh_since)
        else:
            feeds[row.ref] = FeedWatch(frozenset(str(s) for s in row.announced or ()), row.alarm_raised_at)
    return stations, feeds


def save_alarm_state(session: Session, stations: Mapping[str, StationWatch], feeds: Mapping[str, FeedWatch]) -> None:
    """Write the states that changed."""
    for ref, watch in stations.items():
        row = _row(session, "station", ref)
        row.stale_since, row.fresh_since, row.alarm_raised_at = watch.silent_since, watch.fresh_since, \
            watch.silent_since
    for ref, feed in feeds.items():
        row = _row(session, "feed", ref)
        row.announced = sorted(feed.announced)
        row.stale_since = (row.stale_since or feed.last_message_at) if feed.announced else None
        row.alarm_raised_at = feed.last_message_at


def alarms_sent(session: Session, person_id: str, since: datetime) -> int:
    """Stale-feed messages the outbox holds for this person since ``since``, whichever process wrote them."""
    return session.scalar(select(func.count()).select_from(OutboxRow).where(
        OutboxRow.incident_id.is_(None), OutboxRow.person_id == person_id, OutboxRow.kind.in_(ALARM_KINDS),
        OutboxRow.status != "cancelled", OutboxRow.created_at > since)) or 0


def record_unknown_parameters(session: Session, feed_id: str, counts: Mapping[str, int]) -> None:
    """The parameters the last read found that the plan does not map (empty when none)."""
    _row(session, "feed", feed_id).unknown_parameters = dict(sorted(counts.items()))


def unknown_parameters(session: Session) -> dict[str, dict[str, int]]:
    """Per feed, what its last read found unmapped."""
    rows = session.execute(select(FeedStatusRow.ref, FeedStatusRow.unknown_parameters)
                           .where(FeedStatusRow.kind == "feed")).all()
    return {ref: {str(k): int(v) for k, v in (counts or {}).items()} for ref, counts in rows}


def _row(session: Session, kind: str, ref: str) -> FeedStatusRow:
    row = session.get(FeedStatusRow, (kind, ref))
    if row is None:
        row = FeedStatusRow(kind=kind, ref=ref)
        session.add(row)
    return row
