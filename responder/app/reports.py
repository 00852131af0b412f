"""The after-action report of some incidents: extracted from storage here, assembled and rendered by ``reports``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from responder.app.incident_basis import snapshot_of
from responder.app.ports import Context
from responder.domain.errors import InputError, NotFound, Problem
from responder.reports import stations as charted
from responder.reports.assemble import HANDLED_REPLIES, Assembly, window
from responder.reports.model import CapIssued, Reading, ReportData, StationSeries
from responder.reports.records import IncidentHistory, Overlap
from responder.storage import history
from responder.storage.callouts import history as callout_history
from responder.storage.incidents import audit_events, handled_replies, recipients_of
from responder.storage.models import IncidentRow

ReadingsSource = Callable[[Session, Sequence[str], datetime, datetime], list[Reading]]
"""(session, station ids, start, end) → readings in [start, end]: how the report gets its readings."""


def stored_readings(session: Session, station_ids: Sequence[str], start: datetime, end: datetime) -> list[Reading]:
    """The readings the feeds stored: the default :data:`ReadingsSource`."""
    return [Reading(station, quantity, at, value, unit)
            for station, quantity, at, value, unit in history.readings(session, station_ids, start, end)]


def build_report(ctx: Context, incident_ids: Sequence[int], title: str | None = None,
                 language: str | None = None, readings: ReadingsSource | None = None) -> ReportData:
    """Everything the report shows about ``incident_ids`` (one incident, or the incidents of one drill run)."""
    ids = sorted(set(incident_ids))
    if not ids:
        raise InputError(Problem("name at least one incident", field="INCIDENT"))
    ctx.require_schema()
    now = ctx.clock.now()
    with ctx.sessions() as session:
        found = history.incidents(session, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"no incident {', '.join('#' + str(i) for i in missing)}")
        histories = [_history(session, found[i], now) for i in ids]
        start, end = window([h.incident for h in histories], now)
        windows = history.incidents_between(session, start, end)
        overlap = Overlap(windows, history.calls_of(session, [w[0] for w in windows]))
    assembly = Assembly(histories, overlap, now, language)
    plan = charted.to_read(assembly.first, assembly.mentioned, assembly.start, assembly.end)
    stations: list[StationSeries] = []
    if plan.ids:
        source = readings or stored_readings
        with ctx.sessions() as session:
            shown = source(session, plan.ids, plan.start, plan.end)
            earlier = source(session, plan.lead_ids, plan.start - plan.lead, plan.start) if plan.lead_ids else []
        stations = charted.series(plan, assembly.first, assembly.language, shown, earlier)
    return assembly.report(stations, title, _cap_issued(ctx, ids))


def _cap_issued(ctx: Context, incident_ids: Sequence[int]) -> list[CapIssued]:
    """The public warnings (CAP 1.2) the incidents published, from the same messages the export writes."""
    from responder.app.cap_export import issued
    from responder.domain.cap import message_level

    return [CapIssued(iid, m.identifier, m.msg_type, m.status, m.sent_at, message_level(m))
            for iid, m in issued(ctx, incident_ids)]


def _history(session: Session, incident: IncidentRow, now: datetime) -> IncidentHistory:
    recipients = recipients_of(session, incident.id)
    replies = history.replies(session, incident.id, {r.phone for r in recipients}, incident.raised_at,
                              incident.ended_at or now, HANDLED_REPLIES)
    plan, roster = snapshot_of(incident)
    return IncidentHistory(incident, plan, roster, audit_events(session, incident.id), recipients,
                           history.messages(session, incident.id), history.escalation_steps(session, incident.id),
                           history.acknowledgements(session, incident.id), replies,
                           handled_replies(session, incident.id, HANDLED_REPLIES),
                           callout_history(session, incident.id), history.texts(session, incident.id))


def write_report(ctx: Context, incident_ids: Sequence[int], out_dir: Path, basename: str | None = None,
                 title: str | None = None, language: str | None = None) -> tuple[Path, Path]:
    """Build the report of ``incident_ids`` and write it as HTML and Markdown; returns (html, md)."""
    from responder.app.outfiles import prepare_folder, write_whole
    from responder.reports.write import default_basename, write_files

    prepare_folder(out_dir)
    data = build_report(ctx, incident_ids, title=title, language=language)
    written = write_files(data, out_dir, basename or default_basename(incident_ids), write=write_whole)
    return written["html"], written["md"]
