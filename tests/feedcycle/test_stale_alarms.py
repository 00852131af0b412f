"""The stale-feed alarm through the real cycle and outbox: hysteresis, one message per feed, a quiet period,
and a cap per person and hour that holds across processes (it counts what the outbox already holds)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from responder.app.feed_alarms import stale_alarms
from responder.app.feed_cycle import CycleReport, evaluate_rules
from responder.domain.clock import FakeClock
from responder.domain.derived import StationSnapshot
from responder.domain.readings import Reading
from responder.domain.stale_alarms import AlarmPolicy
from responder.domain.stations import CANONICAL_UNIT, Station
from responder.storage import readings_repo as repo
from responder.storage.db import transaction
from responder.storage.models import AuditEventRow, OutboxRow
from responder.wiring import AppContext

ALARMS = ("stale_feed", "feed_recovered")
VALUES = {"rain_mm": 0.0, "stage_m": 3.0, "storage_pct": 60.0}


def with_plan(ctx: AppContext, **update: object) -> AppContext:
    ctx.__dict__["plan_file"] = replace(ctx.plan_file, plan=ctx.plan.model_copy(update=update))
    return ctx


def snapshots(ctx: AppContext, stale: set[str]) -> dict[str, StationSnapshot]:
    return {s.id: StationSnapshot(s.id, s.kind, s.measured[0], stale=s.id in stale) for s in ctx.plan.stations}


def alarm_rows(ctx: AppContext) -> list[OutboxRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(OutboxRow).where(OutboxRow.kind.in_(ALARMS)).order_by(OutboxRow.id)))


def test_a_15_minute_gauge_fed_hourly_for_two_days_sends_one_message(sqlite_ctx: AppContext,
                                                                      clock: FakeClock) -> None:
    """The old alarm sent 192 SMS here (stale at :30, recovered at :00, every hour): now the gauge counts as
    silent until it has reported on time for an hour, so the officer hears of it once."""
    ctx = sqlite_ctx
    policy = ctx.plan.feed_alarms
    start = clock.now()
    quantity = {s.id: s.primary for s in ctx.plan.stations}
    for tick in range(2 * 24 * 4):  # a feed check every 15 minutes for 48 h
        now = clock.now()
        due = ["longhe-town", "rain-yuquanzi"] + (["rain-caisenba"] if tick % 4 == 0 else []) + \
            (["pond-liaojiaba"] if tick % 96 == 0 else [])
        readings = [Reading(s, now, quantity[s], VALUES[quantity[s]], CANONICAL_UNIT[quantity[s]], "test")
                    for s in due]
        with transaction(ctx.sessions) as session:
            repo.store_readings(session, readings, now)
        evaluate_rules(ctx, CycleReport(now))
        clock.advance(timedelta(minutes=15))
    rows = alarm_rows(ctx)
    assert len(rows) <= policy.max_per_hour
    assert [(r.kind, r.created_at - start) for r in rows] == [("stale_feed", timedelta(minutes=45))]
    assert "蔡森坝雨量站" in rows[0].body or "Caisenba" in rows[0].body
    with ctx.sessions() as session:
        audited = list(session.scalars(select(AuditEventRow.kind).where(
            AuditEventRow.kind.in_(["feed_stale", "feed_recovered"]))))
    assert audited == ["feed_stale"]


def test_forty_silent_stations_of_one_feed_are_one_message(sqlite_ctx: AppContext) -> None:
    ctx = sqlite_ctx
    extra = [Station.model_validate({"id": f"rain-{i:02d}", "name": {"zh": f"雨量站{i:02d}", "en": f"gauge {i:02d}"},
                                     "kind": "rain", "feed": "county-rain", "interval": "15m"}) for i in range(38)]
    ctx = with_plan(ctx, stations=[*ctx.plan.stations, *extra])
    silent = {s.id for s in ctx.plan.stations if s.feed == "county-rain"}
    assert len(silent) == 40
    said = stale_alarms(ctx, snapshots(ctx, silent))
    [row] = alarm_rows(ctx)
    assert row.kind == "stale_feed" and "40" in row.body
    assert ("等40个" in row.body) if row.language == "zh" else ("and 35 more" in row.body)
    assert said[-1] == f"feed county-rain: {row.person_id} told of 40 station(s) silent"


def test_news_within_the_quiet_period_waits_and_the_all_clear_comes_once(sqlite_ctx: AppContext,
                                                                         clock: FakeClock) -> None:
    ctx = with_plan(sqlite_ctx, feed_alarms=AlarmPolicy(recover_after=timedelta(minutes=30),
                                                        quiet_period=timedelta(hours=1)))
    stale_alarms(ctx, snapshots(ctx, {"rain-caisenba"}))
    clock.advance(timedelta(minutes=15))
    said = stale_alarms(ctx, snapshots(ctx, {"rain-caisenba", "rain-yuquanzi"}))
    assert said == ["rain-yuquanzi: stale", "feed county-rain: news held back (quiet period or hourly cap)"]
    clock.advance(timedelta(minutes=45))
    stale_alarms(ctx, snapshots(ctx, {"rain-caisenba", "rain-yuquanzi"}))     # an hour after the first message
    for _ in range(4):                                                        # back, but only after 30 minutes
        clock.advance(timedelta(minutes=15))
        stale_alarms(ctx, snapshots(ctx, set()))
    assert [(r.kind, r.body.count("雨量站") or r.body.count("gauge")) for r in alarm_rows(ctx)] == [
        ("stale_feed", 1), ("stale_feed", 2), ("feed_recovered", 2)]


@pytest.fixture
def two_processes(ctx: AppContext, clock: FakeClock) -> Iterator[tuple[AppContext, AppContext]]:
    """Two contexts with engines of their own on one database: nothing shared but what is stored."""
    second = AppContext(ctx.settings, clock=clock)
    policy = AlarmPolicy(recover_after=timedelta(0), quiet_period=timedelta(0), max_per_hour=1)
    yield with_plan(ctx, feed_alarms=policy), with_plan(second, feed_alarms=policy)
    second.engine.dispose()


def test_the_cap_per_person_and_hour_holds_across_processes(two_processes: tuple[AppContext, AppContext],
                                                            clock: FakeClock) -> None:
    first, second = two_processes
    stale_alarms(first, snapshots(first, {"rain-caisenba"}))                   # county-rain: told
    clock.advance(timedelta(minutes=20))
    said = stale_alarms(second, snapshots(second, {"rain-caisenba", "longhe-town"}))
    assert said == ["longhe-town: stale", "feed county-river: news held back (quiet period or hourly cap)"]
    clock.advance(timedelta(minutes=20))
    assert stale_alarms(first, snapshots(first, {"rain-caisenba", "longhe-town"}))[-1].endswith("hourly cap)")
    clock.advance(timedelta(minutes=21))                                       # an hour after the first message
    said = stale_alarms(second, snapshots(second, {"rain-caisenba", "longhe-town"}))
    assert said[-1].startswith("feed county-river:") and "told of 1 station(s) silent" in said[-1]
    rows = alarm_rows(first)
    assert [r.kind for r in rows] == ["stale_feed", "stale_feed"]
    assert rows[1].created_at - rows[0].created_at > timedelta(hours=1)
