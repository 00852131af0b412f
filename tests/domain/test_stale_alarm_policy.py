"""The stale-alarm policy on plain values: hysteresis, grouping per feed, quiet period, the hourly budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from responder.domain.stale_alarms import AlarmPolicy, AlarmStep, FeedWatch, Observation, StationWatch, step

T0 = datetime(2027, 7, 1, tzinfo=UTC)
Q = timedelta(minutes=15)
POLICY = AlarmPolicy(recover_after=timedelta(hours=1), quiet_period=timedelta(hours=1), max_per_hour=4)


def cycles(pattern: list[set[str]], feeds: dict[str, str], budget: int = 4, policy: AlarmPolicy = POLICY,
           only_changing: bool = False) -> list[AlarmStep]:
    """Each cycle's stale stations, a cycle every 15 minutes: what each cycle's step decided. ``only_changing``:
    observe only the stations stale or alarmed, with the watched feeds, as the feed cycle does."""
    stations: dict[str, StationWatch] = {}
    told: dict[str, FeedWatch] = {}
    out = []
    for i, stale in enumerate(pattern):
        now = T0 + i * Q
        seen = [Observation(s, f, s in stale, now - 3 * Q if s in stale else now, Q) for s, f in feeds.items()
                if not only_changing or s in stale or s in stations]
        result = step(policy, seen, stations, told, now, budget, set(feeds.values()) if only_changing else None)
        # as stored: a station no longer alarmed has no state
        stations = {s: w for s, w in {**stations, **result.stations}.items() if w != StationWatch()}
        told.update(result.feeds)
        out.append(result)
    return out


def run(pattern: list[set[str]], feeds: dict[str, str], budget: int = 4,
        policy: AlarmPolicy = POLICY) -> list[tuple[int, str, str, tuple[str, ...]]]:
    """The messages as (cycle, feed, kind, stations)."""
    return [(i, m.feed, m.kind, m.stations) for i, result in enumerate(cycles(pattern, feeds, budget, policy))
            for m in result.messages]


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


@given(st.lists(st.sets(st.sampled_from("abcde")), max_size=40), st.integers(0, 4))
@example([{"a", "c"}] * 2 + [set()] * 8, 1)  # the river's all-clear is held one cycle: its station is no longer alarmed
def test_observing_only_the_stale_and_the_alarmed_stations_changes_nothing(pattern: list[set[str]],
                                                                           budget: int) -> None:
    """A fresh station without alarm state cannot change: the cycle leaves it out of ``seen``, and names the feeds
    watched so that an all-clear held back is still sent."""
    feeds = {"a": "rain", "b": "rain", "c": "river", "d": "river", "e": "dam"}
    assert cycles(pattern, feeds, budget, only_changing=True) == cycles(pattern, feeds, budget)
