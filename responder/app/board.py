"""What the duty board shows, read through the same use cases and queries as the CLI's views.

``alert status``, ``alert timeline``, ``alert proposals``, ``alert replies``, ``duty now`` and ``feeds check``'s
station table each have a page; this module gathers what one page needs in a few short read transactions and
hands it to the web layer, which only renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from responder.app.duty import OnDuty, load_rota, on_duty
from responder.app.ports import Context
from responder.app.proposals import pending_proposals
from responder.app.status import IncidentStatus, inbound_messages, incident_status, list_incidents, timeline
from responder.domain.derived import StationSnapshot
from responder.domain.errors import InputError
from responder.domain.roster import Roster, Shift
from responder.domain.rules import (
    AnyRule,
    DrinkingWaterRule,
    RainTotalRule,
    ReservoirStorageRule,
    WaterLevelRule,
    snapshot_spec,
)
from responder.domain.stations import Station
from responder.storage import history, progress
from responder.storage import readings_repo as repo
from responder.storage.db import reading
from responder.storage.models import ProposalRow
from responder.storage.people import load_roster

CHART_SPAN = timedelta(hours=24)


@dataclass(frozen=True)
class NowView:
    at: datetime
    incidents: list[IncidentStatus]
    proposals: list[ProposalRow]


def now_view(ctx: Context) -> NowView:
    """The Now page: every open incident's status (as ``alert status``) and the pending proposals."""
    statuses = [incident_status(ctx, row.id) for row in list_incidents(ctx, include_ended=False)]
    return NowView(ctx.clock.now(), statuses, pending_proposals(ctx))


@dataclass(frozen=True)
class MessageState:
    channel: str
    kind: str
    status: str
    sent_at: datetime | None
    final_at: datetime | None
    error_code: str | None


@dataclass
class IncidentView:
    status: IncidentStatus
    events: list[dict[str, Any]]
    messages: dict[str, list[MessageState]] = field(default_factory=dict)
    """Per person, every message in the order queued."""
    replies: list[dict[str, Any]] = field(default_factory=list)
    """Replies that were not confirmations (notes, questions, after stand-down)."""


REPLIES_LOOKED_AT = 500


def incident_view(ctx: Context, incident_id: int) -> IncidentView:
    """The Incident page: status, timeline (audit events), each person's messages, replies that were not
    confirmations. NotFound for an unknown id."""
    status = incident_status(ctx, incident_id)
    view = IncidentView(status, timeline(ctx, incident_id))
    with ctx.sessions() as session:
        for pid, channel, kind, state, sent, final, error in progress.person_messages(session, incident_id):
            view.messages.setdefault(pid or "", []).append(MessageState(channel, kind, state, sent, final, error))
    view.replies = [r for r in inbound_messages(ctx, REPLIES_LOOKED_AT) if r["incident_id"] == incident_id]
    return view


def board_fingerprint(ctx: Context) -> str:
    """Changes whenever anything the board shows changes (live updates poll this, once for every open board)."""
    with reading(ctx.engine) as conn:
        return progress.fingerprint(conn)


@dataclass(frozen=True)
class Threshold:
    label: str
    """warning (警戒水位), guaranteed (保证水位), or a rule's level and window ("L2 24h")."""
    value: float
    margin: float | None
    """How far the reading is from the threshold: positive is below it (safe), negative over it."""


@dataclass(frozen=True)
class StationLine:
    station: Station
    snapshot: StationSnapshot
    thresholds: list[Threshold]
    series: list[tuple[int, float]]
    """The main quantity over the last ``CHART_SPAN`` as (epoch seconds, value), oldest first, for the chart."""


@dataclass(frozen=True)
class StationsView:
    at: datetime
    stations: list[StationLine]
    windows: list[timedelta]


def _less(a: float | None, b: float) -> float | None:
    return None if a is None else round(a - b, 2)


def _thresholds(station: Station, snap: StationSnapshot, rules: list[AnyRule]) -> list[Threshold]:
    """Each level a rule would give at this station, with how far the reading is from it."""
    out: list[Threshold] = []
    if station.warning_level is not None:
        out.append(Threshold("warning", station.warning_level, snap.margin))
    if station.guaranteed_level is not None:
        out.append(Threshold("guaranteed", station.guaranteed_level, snap.guaranteed_margin))
    for rule in rules:
        if isinstance(rule, DrinkingWaterRule) or station.kind not in rule.applies_to or (
                rule.stations != "all" and station.id not in rule.stations):
            continue
        if isinstance(rule, RainTotalRule):
            total = snap.totals.get(rule.window)
            hours = int(rule.window.total_seconds() // 3600)
            out += [Threshold(f"L{level} {hours}h", limit, None if total is None else round(limit - total, 2))
                    for level, limit in sorted(rule.thresholds.items())]
        elif isinstance(rule, WaterLevelRule) and station.warning_level is not None:
            out += [Threshold(f"L{level}", round(station.warning_level - below, 3), _less(snap.margin, below))
                    for level, below in sorted(rule.within.items())]
        elif isinstance(rule, ReservoirStorageRule):
            out += [Threshold(f"L{level} %", share * 100, _less(snap.storage_pct, share * 100))
                    for level, share in sorted(rule.below.items())]
    return out


def stations_view(ctx: Context) -> StationsView:
    """The Stations page: the snapshot the rules see (as ``feeds check``), each threshold's margin, and the last
    day of readings for a chart; nothing is read from the feeds."""
    plan = ctx.plan
    now = ctx.clock.now()
    spec = snapshot_spec(plan.rules, plan.area.zone)
    ctx.require_schema()
    with ctx.sessions() as session:
        snaps = repo.snapshots(session, plan.stations, now, spec)
        rows = history.chart_points(session, [s.id for s in plan.stations], now - CHART_SPAN, now)
    series: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for station_id, quantity, at, value in rows:
        series.setdefault((station_id, quantity), []).append((at, value))
    lines = [StationLine(s, snaps[s.id], _thresholds(s, snaps[s.id], list(plan.rules)),
                         series.get((s.id, s.measured[0]), [])) for s in plan.stations]
    return StationsView(now, lines, sorted(spec.windows))


@dataclass(frozen=True)
class DutyView:
    now: OnDuty
    week: list[tuple[Shift, str, str | None]]
    """This week's shifts with the officer's and the deputy's names (the id where the roster lacks them)."""
    rota_error: str | None = None


WEEK = timedelta(days=7)


def _name(roster: Roster, person_id: str | None) -> str | None:
    if person_id is None:
        return None
    person = roster.get(person_id)
    return f"{person.name} ({person.id})" if person else person_id


def duty_view(ctx: Context) -> DutyView:
    """The Duty page: who is on duty now (the rota, else the plan's stand-in, as alerts use) and this week."""
    ctx.require_schema()
    with ctx.sessions() as session:
        roster = load_roster(session)
    now = ctx.clock.now()
    try:
        rota = load_rota(ctx)
    except InputError as exc:
        return DutyView(on_duty(None, roster, now, ctx.plan.duty.fallback), [], "; ".join(
            f"{p.where()}: {p.message}" for p in exc.problems))
    week = [(s, _name(roster, s.person) or s.person, _name(roster, s.deputy))
            for s in sorted(rota.shifts, key=lambda s: s.start) if s.end > now and s.start < now + WEEK]
    return DutyView(on_duty(rota, roster, now, ctx.plan.duty.fallback), week)
