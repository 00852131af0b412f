"""The stale-feed alarm: told once when a station goes silent, once when it reports again, and nothing
in between or when every station is fine."""

from __future__ import annotations

from sqlalchemy import select

from responder.app.feed_cycle import stale_alarms
from responder.domain.derived import StationSnapshot
from responder.storage.models import OutboxRow
from responder.wiring import AppContext


def snapshots(ctx: AppContext, stale: set[str]) -> dict[str, StationSnapshot]:
    return {s.id: StationSnapshot(s.id, s.kind, s.measured[0], stale=s.id in stale) for s in ctx.plan.stations}


def test_a_station_is_alarmed_once_and_cleared_once(sqlite_ctx: AppContext) -> None:
    ctx = sqlite_ctx
    assert stale_alarms(ctx, snapshots(ctx, set())) == []
    assert stale_alarms(ctx, snapshots(ctx, {"rain-caisenba"})) == ["rain-caisenba: stale"]
    assert stale_alarms(ctx, snapshots(ctx, {"rain-caisenba"})) == []
    assert stale_alarms(ctx, snapshots(ctx, {"rain-caisenba", "longhe-town"})) == ["longhe-town: stale"]
    assert stale_alarms(ctx, snapshots(ctx, {"longhe-town"})) == ["rain-caisenba: recovered"]
    assert stale_alarms(ctx, snapshots(ctx, set())) == ["longhe-town: recovered"]
    assert stale_alarms(ctx, snapshots(ctx, set())) == []
    with ctx.sessions() as session:
        told = session.scalars(select(OutboxRow.kind).where(OutboxRow.kind.in_(["stale_feed", "feed_recovered"])))
        assert sorted(told) == ["feed_recovered", "feed_recovered", "stale_feed", "stale_feed"]
