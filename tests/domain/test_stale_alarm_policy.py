"""The stale-alarm policy on plain values: hysteresis, grouping per feed, quiet period, the hourly budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from responder.domain.stale_alarms import AlarmPolicy, FeedWatch, Observation, StationWatch, step

T0 = datetime(2027, 7, 1, tzinfo=UTC)
Q = timedelta(minutes=15)
POLICY = AlarmPolicy(recover_after=timedelta(hours=1), quiet_period=timedelta(hours=1), max_per_hour=4)


def run(pattern: list[set[str]], feeds: dict[str, str], budget: int = 4,
        policy: AlarmPolicy = POLICY) -> list[tuple[int, str, str, tuple[str, ...]]]:
    """Each cycle's stale stations, a cycle every 15 minutes: the messages as (cycle, feed, kind, stations)."""
    stations: dict[str, StationWatch] = {}
    told: dict[str, FeedWatch] = {}
    out = []
    for i, stale in enumerate(pattern):
        now = T0 + i * Q
        seen = [Observation(s, f, s in stale, now - 3 * Q if s in stale else now, Q) for s, f in feeds.items()]
        result = step(policy, seen, stations, told, now, budget)
        stations.update(result.stations)
        told.update(result.feeds)
        out += [(i, m.feed, m.kind, m.stations) for m in result.messages]
    return out


def test_flapping_every_half_hour_is_one_message_for_the_whole_time() -> None:
    hourly = [{"g"} if i % 4 >= 2 else set() for i in range(4 * 48)]
    assert run(hourly, {"g": "rain"}) == [(2, "rain", "stale_feed", ("g",))]


def test_back_only_after_reporting_on_time_for_the_recovery_period() -> None:
    pattern = [set(), {"g"}, {"g"}, set(), set(), set(), set(), set(), set()]
    assert run(pattern, {"g": "rain"}) == [(1, "rain", "stale_feed", ("g",)), (7, "rain", "feed_recovered", ("g",))]


def test_one_message_per_feed_and_partial_recovery_is_not_a_message() -> None:
    feeds = {"a": "rain", "b": "rain", "c": "river"}
    pattern = [{"a", "b", "c"}] + [{"a", "c"}] * 8 + [set()] * 8
    assert run(pattern, feeds, policy=POLICY.model_copy(update={"quiet_period": timedelta(0)})) == [
        (0, "rain", "stale_feed", ("a", "b")), (0, "river", "stale_feed", ("c",)),
        (13, "rain", "feed_recovered", ("a", "b")), (13, "river", "feed_recovered", ("c",))]


def test_the_budget_holds_news_back_until_there_is_room() -> None:
    feeds = {"a": "rain", "c": "river"}
    assert run([{"a", "c"}] * 3, feeds, budget=1) == [(0, "rain", "stale_feed", ("a",)),
                                                      (1, "river", "stale_feed", ("c",))]
    assert run([{"a", "c"}] * 3, feeds, budget=0) == []
