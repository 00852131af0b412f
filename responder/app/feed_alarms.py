"""The stale-feed alarm after a cycle: the policy (``domain.stale_alarms``) on this cycle's snapshots and the
stored state, its messages to the duty officer through the outbox, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from responder.app.ports import Context
from responder.domain.callout import Contact
from responder.domain.derived import StationSnapshot
from responder.domain.incidents import OutgoingMessage
from responder.domain.messages import IncidentFacts, compose
from responder.domain.plan import Plan, pick
from responder.domain.roster import Person
from responder.domain.snapshot_columns import SnapshotColumns
from responder.domain.stale_alarms import AlarmStep, FeedMessage, Observation, step
from responder.domain.types import format_duration
from responder.storage import feed_health
from responder.storage import incidents as store
from responder.storage.db import reading, transaction

NAMED = 5
"""Stations named in one message; the rest are counted."""


def stale_alarms(ctx: Context, snapshots: Mapping[str, StationSnapshot]) -> list[str]:
    """Update the alarm state and tell the duty officer what the policy lets through; lines for `feeds check`.

    Only the stations stale now or alarmed in the stored state are looked at (``step``): a fresh station with no
    alarm state stays so. The usual cycle (none of either) reads the state on a read-only connection and stops.
    """
    plan = ctx.plan
    now = ctx.clock.now()
    stale = _stale(snapshots)  # usually none: then no loop over the plan
    if stale:
        stale &= {s.id for s in plan.stations if s.feed is not None}
    if not stale:
        with reading(ctx.engine) as conn:
            if not feed_health.any_alarmed(conn):
                return []  # the usual cycle: nothing silent, nothing announced
    with transaction(ctx.sessions) as session:
        feed_health.lock_alarms(session)
        stations, feeds = feed_health.alarm_state(session)
        if not stations and not feeds and not stale:
            return []
        watched = [(s.id, feed, s.interval) for s in plan.stations
                   if (feed := s.feed) is not None and s.id in snapshots]
        seen = [Observation(sid, feed, (snap := snapshots[sid]).stale, snap.last_time, interval)
                for sid, feed, interval in watched if sid in stale or sid in stations]
        officer = _officer(ctx, session)
        budget = 0 if officer is None else plan.feed_alarms.max_per_hour - feed_health.alarms_sent(
            session, officer.id, now - timedelta(hours=1))
        result = step(plan.feed_alarms, seen, stations, feeds, now, budget, {w[1] for w in watched})
        feed_health.save_alarm_state(session, result.stations, result.feeds)
        for message in result.messages:
            assert officer is not None  # no budget without one
            _tell(ctx, session, officer, message)
        _audit(session, result, {o.station: o for o in seen}, now)
    return _lines(result, officer)


def _stale(snapshots: Mapping[str, StationSnapshot]) -> set[str]:
    """The stations stale this cycle; from the cycle's columns without making a snapshot of every station."""
    if isinstance(snapshots, SnapshotColumns):
        return {sid for sid, stale in zip(snapshots.ids, snapshots.stale, strict=True) if stale}
    return {sid for sid, snap in snapshots.items() if snap.stale}


def _officer(ctx: Context, session: Session) -> Person | None:
    from responder.app.duty import duty_officer
    from responder.storage.people import load_roster

    return duty_officer(ctx, load_roster(session), ctx.plan)


def _tell(ctx: Context, session: Session, officer: Person, message: FeedMessage) -> None:
    from responder.app.incident_basis import sender_key

    plan = ctx.plan
    lang = officer.language if officer.language in plan.languages else plan.default_language
    feed = next(f for f in plan.feeds if f.id == message.feed)
    extras = {"feed": pick(feed.name, lang, plan.default_language) if feed.name else feed.id,
              "station": station_names(plan, message.stations, lang), "count": str(len(message.stations)),
              "time": format_duration(message.silent_for) if message.silent_for else
              ("长时间" if lang == "zh" else "a long time")}
    facts = IncidentFacts("", "flood", 4, "", ctx.settings.drill_mode)
    text = compose(plan, message.kind, lang, facts, extras=extras, when=ctx.clock.now())
    store.enqueue(session, None, [OutgoingMessage.of(plan, Contact.of(officer), message.kind, text)], ctx.clock.now(),
                  timedelta(seconds=ctx.settings.send_deadline_seconds), sender_key(ctx))


def station_names(plan: Plan, ids: Sequence[str], lang: str) -> str:
    """The first few stations by name, then how many more: a message about 40 stations stays one SMS."""
    by_id = {s.id: s for s in plan.stations}
    names = [pick(by_id[i].name, lang, plan.default_language) if i in by_id else i for i in ids[:NAMED]]
    rest = len(ids) - len(names)
    if lang == "zh":
        return "、".join(names) + (f"等{len(ids)}个" if rest else "")
    return ", ".join(names) + (f" and {rest} more" if rest else "")


def _audit(session: Session, result: AlarmStep, seen: Mapping[str, Observation], now: datetime) -> None:
    by_feed: dict[str, tuple[list[str], list[str]]] = {}
    for sid in result.went_silent:
        by_feed.setdefault(seen[sid].feed, ([], []))[0].append(sid)
    for sid in result.came_back:
        by_feed.setdefault(seen[sid].feed, ([], []))[1].append(sid)
    told = {m.feed: m.kind for m in result.messages}
    for feed, (silent, back) in sorted(by_feed.items()):
        evidence = {"feed": feed, "told": told.get(feed), "held": feed in result.held}
        if silent:
            last = {s: t.isoformat() if (t := seen[s].last_time) else None for s in silent}
            store.audit(session, now, "feed check", "feed_stale", f"feed {feed}: {len(silent)} station(s) silent: "
                        f"{', '.join(silent)}", None, None, {**evidence, "stations": silent, "last": last})
        if back:
            store.audit(session, now, "feed check", "feed_recovered", f"feed {feed}: {len(back)} station(s) report "
                        f"again: {', '.join(back)}", None, None, {**evidence, "stations": back})


def _lines(result: AlarmStep, officer: Person | None) -> list[str]:
    lines = [f"{s}: stale" for s in result.went_silent] + [f"{s}: recovered" for s in result.came_back]
    for m in result.messages:
        what = "silent" if m.kind == "stale_feed" else "reporting again"
        lines.append(f"feed {m.feed}: {officer.id if officer else '?'} told of {len(m.stations)} station(s) {what}")
    for feed in result.held:
        lines.append(f"feed {feed}: news held back ({'quiet period or hourly cap' if officer else 'no duty officer'})")
    return lines
