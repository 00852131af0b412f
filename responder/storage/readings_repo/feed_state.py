"""Feed status, what the rules remember between cycles, and people's manual reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Table,
    bindparam,
    select,
)
from sqlalchemy.orm import Session

from responder.domain.redact import redact
from responder.domain.rules import HazardState, ManualReport
from responder.storage.feed_models import (
    FeedStatusRow,
    ManualReportRow,
    RuleStateRow,
)


def record_feed_status(session: Session, kind: str, ref: str, error: str | None, now: datetime) -> FeedStatusRow:
    """Note a success (``error`` None) or a failure of a feed or station; the stale alarm is the caller's."""
    row = session.get(FeedStatusRow, (kind, ref))
    if row is None:
        row = FeedStatusRow(kind=kind, ref=ref)
        session.add(row)
    if error is None:
        row.last_ok_at = now
    else:
        row.last_error, row.last_error_at = redact(error), now
    return row


def load_rule_state(session: Session) -> dict[str, HazardState]:
    """What ``decide`` remembered; plain rows, not ORM objects, since ``save_rule_state`` upserts."""
    table = RuleStateRow.__table__
    assert isinstance(table, Table)
    return {hazard: HazardState.from_json(state)
            for hazard, state in session.connection().execute(select(table.c.hazard, table.c.state))}


def save_rule_state(session: Session, state: dict[str, HazardState], now: datetime) -> None:
    """One upsert for every hazard: a cycle saves the state each time, without loading the rows first."""
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    if not state:
        return
    table = RuleStateRow.__table__
    assert isinstance(table, Table)
    insert = postgresql_insert(table) if session.get_bind().dialect.name == "postgresql" else sqlite_insert(table)
    upsert = insert.on_conflict_do_update(index_elements=["hazard"], set_={"state": insert.excluded.state,
                                                                          "updated_at": insert.excluded.updated_at})
    session.connection().execute(upsert, [{"hazard": hazard, "state": hazard_state.to_json(), "updated_at": now}
                                          for hazard, hazard_state in state.items()])


def add_report(session: Session, report: ManualReport, now: datetime) -> int:
    row = ManualReportRow(kind=report.kind, time=report.time, value=report.value, place=report.place,
                          station=report.station, by=report.by, note=report.note, received_at=now)
    session.add(row)
    session.flush()
    return row.id


_R = ManualReportRow
_RECENT_REPORTS = (select(_R.kind, _R.time, _R.value, _R.place, _R.by, _R.station, _R.note)
                   .where(_R.time > bindparam("since"), _R.time <= bindparam("now"))
                   .order_by(_R.time, _R.id))


def recent_reports(session: Session, now: datetime, within: timedelta = timedelta(days=7)) -> list[ManualReport]:
    """Reports of the last ``within`` (the rules keep only the latest per place and their own validity); plain
    rows, not ORM objects: every cycle asks, and there are rarely any."""
    rows = session.connection().execute(_RECENT_REPORTS, {"since": now - within, "now": now})
    return [ManualReport(kind, time.astimezone(UTC), value, place, by, station, note)  # type: ignore[arg-type]
            for kind, time, value, place, by, station, note in rows]

