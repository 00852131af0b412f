"""The feed check cycle: read feeds, store readings, evaluate the plan's rules, propose or declare.

Also manual entry by duty staff (a reading, a dam-break report, people short of drinking water); the
stale-feed alarm after the rules is ``feed_alarms``.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from responder.app import feed_alarms, proposals
from responder.app.ports import Context
from responder.domain.derived import StationSnapshot
from responder.domain.entry import MAX_NOTE, check_text
from responder.domain.errors import InputError, Problem
from responder.domain.readings import RawReading, Reading, Rejected, Series, report_value, validate
from responder.domain.rules import (
    AnyRule,
    ManualReport,
    RuleDecision,
    RuleOutcome,
    decide_evaluated,
    evaluate,
    reached_levels,
    snapshot_spec,
)
from responder.storage import feed_health
from responder.storage import incidents as store
from responder.storage import readings_repo as repo
from responder.storage.db import transaction

MAX_PARALLEL_READS = 8
"""Feeds read at once by one cycle."""


@dataclass
class FeedCheck:
    feed: str
    ok: bool
    error: str | None = None
    inserted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    missing: int = 0
    unknown_parameters: dict[str, int] = field(default_factory=dict)
    """Series of parameters the plan does not map, by parameter code."""


@dataclass
class CycleReport:
    at: datetime
    feeds: list[FeedCheck] = field(default_factory=list)
    snapshots: Mapping[str, StationSnapshot] = field(default_factory=dict)
    """Every station's snapshot (columns from the database, each snapshot made when first read)."""
    winners: dict[str, RuleOutcome] = field(default_factory=dict)
    """Per hazard, the outcome the decision was made on (the most severe level given)."""
    decisions: list[RuleDecision] = field(default_factory=list)
    proposals: list[proposals.ProposalOutcome] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)
    rules: list[AnyRule] = field(default_factory=list, repr=False)
    reports: list[ManualReport] = field(default_factory=list, repr=False)
    _outcomes: list[RuleOutcome] | None = field(default=None, repr=False)

    @property
    def outcomes(self) -> list[RuleOutcome]:
        """Every rule's outcome at every station, level or not, as `feeds check` shows them: worked out when
        first asked, from the same snapshots and reports (the cycle itself needs only ``winners``)."""
        if self._outcomes is None:
            self._outcomes = evaluate(self.rules, self.snapshots, self.reports, self.at)
        return self._outcomes


def store_batch(ctx: Context, session: Session, readings: list[Reading], rejected: list[Rejected]) -> FeedCheck:
    now = ctx.clock.now()
    result = repo.store_readings(session, readings, now)
    repo.quarantine(session, rejected, now)
    return FeedCheck("", True, None, result.inserted, result.duplicates, result.conflicts, len(rejected))


def run_cycle(ctx: Context, feed_ids: list[str] | None = None, client: Any = None) -> CycleReport:
    """One cycle: every (or the named) feed read and stored, then the rules; a failing feed stops nothing."""
    from responder.feeds.read import read_feed

    plan = ctx.plan
    now = ctx.clock.now()
    report = CycleReport(now)
    known = {f.id for f in plan.feeds}
    for fid in feed_ids or []:
        if fid not in known:
            raise InputError(Problem(f"unknown feed {fid!r} (the plan has: {', '.join(sorted(known)) or 'none'})",
                                     field="--feed"))
    wanted = [f for f in plan.feeds if f.kind != "manual" and (not feed_ids or f.id in feed_ids)]
    base_dir = ctx.resolve(".")
    # Read side by side, so that the cycle takes as long as its slowest feed (bounded by that feed's timeout),
    # not the sum of them; storing stays one feed at a time, one transaction each.
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_READS, len(wanted)))) as pool:
        results = list(pool.map(lambda f: read_feed(f, plan.stations, now, zone=plan.area.zone, base_dir=base_dir,
                                                    client=client), wanted))
    for feed, result in zip(wanted, results, strict=True):
        with transaction(ctx.sessions) as session:
            check = store_batch(ctx, session, result.readings, result.rejected)
            check.feed, check.ok, check.error, check.missing = feed.id, result.ok, result.error, result.missing
            repo.record_feed_status(session, "feed", feed.id, result.error, now)
            check.unknown_parameters = result.unknown_parameters
            feed_health.record_unknown_parameters(session, feed.id, result.unknown_parameters)
            if result.error:
                store.audit(session, now, f"feed {feed.id}", "feed_error", f"feed {feed.id}: {result.error}",
                            None, None, {"feed": feed.id, "error": result.error, "readings": len(result.readings)})
        report.feeds.append(check)
    evaluate_rules(ctx, report)
    return report


def ingest_and_evaluate(ctx: Context, series: list[Series], rejected: list[Rejected]) -> int:
    """Readings already in hand and already checked by ``validate_series`` (a drill's gauges): stored, then a cycle."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        result = repo.store_series(session, series, now)
        repo.quarantine(session, rejected, now)
    evaluate_rules(ctx, CycleReport(now))
    return result.inserted


def evaluate_rules(ctx: Context, report: CycleReport) -> CycleReport:
    """The plan's rules on the stored readings; decisions go through the same proposal use case."""
    plan = ctx.plan
    now = report.at
    with transaction(ctx.sessions) as session:
        report.snapshots = repo.snapshots(session, plan.stations, now, snapshot_spec(plan.rules, plan.area.zone))
        report.rules, report.reports = list(plan.rules), repo.recent_reports(session, now)
        state = repo.load_rule_state(session)
        current = store.open_levels(session, ctx.settings.drill_mode)
        evaluated = reached_levels(report.rules, report.snapshots, report.reports, now)
        report.winners = evaluated.winners
        decided = decide_evaluated(evaluated, current, state, now)
        repo.save_rule_state(session, decided.state, now)
        report.decisions = decided.decisions
    for d in report.decisions:
        outcome = proposals.submit(ctx, d.hazard, d.level, d.rule, d.mode, dict(d.evidence))
        if outcome is not None:
            report.proposals.append(outcome)
    report.alarms = feed_alarms.stale_alarms(ctx, report.snapshots)
    return report


def add_reading(ctx: Context, station_id: str, value: float | str, when: datetime | None, by: str,
                quantity: str | None = None) -> CycleReport:
    """`reading add`: duty staff type in what they see; validated like any feed row, then a cycle."""
    plan = ctx.plan
    now = ctx.clock.now()
    stations = {s.id: s for s in plan.stations}
    if station_id not in stations:
        raise InputError(Problem(f"unknown station {station_id!r} (the plan has: {', '.join(sorted(stations))})",
                                 field="STATION"))
    checked = validate(RawReading(f"manual:{by}", station_id, when or now, value, quantity), stations, now,
                       zone=plan.area.zone, source=f"manual:{by}")
    if isinstance(checked, Rejected):
        raise InputError(Problem(checked.reason, field="VALUE"))
    with transaction(ctx.sessions) as session:
        result = repo.store_readings(session, [checked], now)
        store.audit(session, now, by, "reading_added", f"{station_id} {checked.quantity} = {checked.value} "
                    f"{checked.unit} at {checked.time.isoformat()}", None, None,
                    {"station": station_id, "value": checked.value, "quantity": checked.quantity,
                     "time": checked.time.isoformat(), "conflict": bool(result.conflicts)})
    return evaluate_rules(ctx, CycleReport(now))


def manual_report(ctx: Context, kind: str, station: str | None, value: float | str | None, by: str,
                  place: str = "", note: str = "") -> CycleReport:
    """A dam break upstream (value 1, 0 clears) or people short of drinking water (value = how many)."""
    kinds = {"dam_break": "dam_break", "no_drinking_water": "drinking_water", "drinking_water": "drinking_water"}
    if kind not in kinds:
        raise InputError(Problem(f"unknown report {kind!r} (dam_break or drinking_water)", field="KIND"))
    number = 1.0 if value is None else report_value(kinds[kind], value)
    place = check_text(place, "--place", MAX_NOTE, what="place")
    note = check_text(note, "--note", MAX_NOTE, what="note", allow_newlines=True)
    now = ctx.clock.now()
    report = ManualReport(kinds[kind], now, number, place or (station or ""), by,  # type: ignore[arg-type]
                          station, note)
    with transaction(ctx.sessions) as session:
        repo.add_report(session, report, now)
        store.audit(session, now, by, "manual_report", f"{kind} reported{' at ' + station if station else ''}"
                    f" (value {report.value})", None, note or None,
                    {"kind": report.kind, "station": station, "value": report.value, "place": report.place})
    return evaluate_rules(ctx, CycleReport(now))
