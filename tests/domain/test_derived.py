"""Derived values: rolling rain totals, rate of rise, dry days, margins, storage and the station snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from responder.domain.derived import (
    SlopeSums,
    SnapshotSpec,
    build_snapshot,
    consecutive_dry_days,
    count_dry_days,
    day_start,
    local_day,
    margin,
    rate_of_rise,
    storage_pct,
    utc_offsets,
    window_total,
    window_totals,
)
from responder.domain.readings import Reading
from responder.domain.readings import epoch_seconds as epoch
from responder.domain.stations import Station

NOW = datetime(2027, 7, 1, 1, 37, 20, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)


@dataclass(frozen=True)
class Point:
    time: datetime
    value: float


offsets = st.integers(min_value=-3 * 86400, max_value=3600)          # seconds relative to NOW
rain = st.floats(min_value=0, max_value=80, allow_nan=False)
points = st.lists(st.builds(lambda s, v: Point(NOW + timedelta(seconds=s), v), offsets, rain), max_size=60)
windows = st.integers(min_value=1, max_value=3 * 86400).map(lambda s: timedelta(seconds=s))


@given(points, windows)
def test_window_total_is_the_sum_over_the_right_closed_window(samples: list[Point], window: timedelta) -> None:
    expected = sum(p.value for p in samples if NOW - window < p.time <= NOW)
    assert window_total(samples, NOW, window) == pytest.approx(expected)


@given(points, windows, windows)
def test_a_longer_window_never_holds_less_rain(samples: list[Point], a: timedelta, b: timedelta) -> None:
    short, long = sorted((a, b))
    assert window_total(samples, NOW, short) <= window_total(samples, NOW, long) + 1e-9


def test_window_edges_and_defaults() -> None:
    samples = [Point(NOW, 1.0), Point(NOW - H, 2.0), Point(NOW - H + timedelta(seconds=1), 4.0),
               Point(NOW + timedelta(seconds=1), 8.0)]
    assert window_total(samples, NOW, H) == 5.0   # (now-1h, now]: the reading at now-1h is the hour before
    assert window_totals(samples, NOW) == {H: 5.0, 3 * H: 7.0, 6 * H: 7.0, 24 * H: 7.0}


@settings(max_examples=200)
@given(st.floats(min_value=-2, max_value=2), st.floats(min_value=0, max_value=400),
       st.lists(st.integers(min_value=1, max_value=3599), min_size=3, max_size=30, unique=True))
@example(0.0, 0.0, [48, 49, 948])  # a span of exactly 15 minutes, once lost to rounding
def test_rate_of_rise_recovers_a_linear_rise_from_irregular_reports(slope: float, base: float,
                                                                     ages: list[int]) -> None:
    samples = [Point(NOW - timedelta(seconds=a), base + slope * (-a / 3600)) for a in ages]
    rate = rate_of_rise(samples, NOW, H)
    if (max(ages) - min(ages)) / 3600 < 0.25:
        assert rate is None
    else:
        assert rate == pytest.approx(slope, abs=1e-6)


@given(st.lists(st.builds(lambda s, v: Point(NOW - timedelta(seconds=s), v),
                          st.integers(min_value=0, max_value=7200), st.floats(min_value=0, max_value=10)),
                max_size=20))
def test_rate_of_rise_only_uses_the_lookback_and_needs_two_reports(samples: list[Point]) -> None:
    inside = [p for p in samples if NOW - H < p.time <= NOW]
    rate = rate_of_rise(samples, NOW, H)
    assert rate == rate_of_rise(inside, NOW, H)
    if len({p.time for p in inside}) < 2:
        assert rate is None


def test_rate_of_rise_of_a_step_and_of_nothing() -> None:
    rising = [Point(NOW - timedelta(minutes=m), 4.0 + (60 - m) * 0.01) for m in (55, 40, 20, 5)]
    assert rate_of_rise(rising, NOW) == pytest.approx(0.6)
    assert rate_of_rise([], NOW) is None
    assert rate_of_rise([Point(NOW, 1.0)], NOW) is None
    assert SlopeSums().slope(0) is None


def test_margin_and_storage() -> None:
    assert margin(4.2, 4.5) == pytest.approx(0.3)
    assert margin(4.8, 4.5) == pytest.approx(-0.3)
    assert margin(None, 4.5) is None and margin(4.0, None) is None
    assert storage_pct(0.03, 0.12) == pytest.approx(25.0)
    assert storage_pct(0.03, None) is None


def test_a_reading_at_midnight_belongs_to_the_day_that_ended() -> None:
    midnight = datetime(2027, 7, 2, 0, 0, tzinfo=SHANGHAI)
    assert local_day(midnight, SHANGHAI) == local_day(midnight - timedelta(minutes=5), SHANGHAI)
    assert local_day(midnight + timedelta(seconds=1), SHANGHAI) == local_day(midnight, SHANGHAI) + 1


def day_rain(day: int, mm: float, hour: int = 14) -> Point:
    """``mm`` of rain in Sanjian at ``hour`` o'clock ``day`` days before NOW's local day."""
    local = NOW.astimezone(SHANGHAI).replace(hour=hour, minute=0, second=0) - timedelta(days=day)
    return Point(local.astimezone(UTC), mm)


def test_consecutive_dry_days() -> None:
    assert consecutive_dry_days([], NOW, SHANGHAI) is None
    wet_5_days_ago = [day_rain(5, 12.0), day_rain(3, 0.4), day_rain(1, 0.0)]
    assert consecutive_dry_days(wet_5_days_ago, NOW, SHANGHAI) == 4
    assert consecutive_dry_days([*wet_5_days_ago, day_rain(0, 3.0, hour=8)], NOW, SHANGHAI) == 0
    assert consecutive_dry_days([*wet_5_days_ago, day_rain(1, 1.0)], NOW, SHANGHAI) == 0
    assert consecutive_dry_days(wet_5_days_ago, NOW, SHANGHAI, threshold_mm=0.2) == 2
    only_dry = [day_rain(10, 0.0), day_rain(2, 0.5)]
    assert consecutive_dry_days(only_dry, NOW, SHANGHAI) == 10          # dry since reports began
    assert consecutive_dry_days(only_dry, NOW, SHANGHAI, horizon_days=5) == 2
    in_utc = consecutive_dry_days([day_rain(5, 12.0, hour=4)], NOW, UTC)  # 04:00 Sanjian is the day before in UTC
    assert in_utc == 5
    assert count_dry_days(100, None, 100) == 0 and count_dry_days(100, 100, 90) == 0
    assert count_dry_days(100, 98, 90) == 1


def reading(station: str, quantity: str, minutes_ago: float, value: float) -> Reading:
    return Reading(station, NOW - timedelta(minutes=minutes_ago), quantity, value, "", "test")  # type: ignore[arg-type]


def test_build_snapshot_of_each_kind() -> None:
    river = Station(id="river", name={"en": "r"}, kind="river", warning_level=4.5, guaranteed_level=5.2, interval="15m")
    stage = [reading("river", "stage_m", m, 4.0 + (60 - m) * 0.005) for m in (58, 45, 30, 15, 1)]
    snap = build_snapshot(river, [*stage, reading("other", "stage_m", 1, 9.0)], NOW)
    assert snap.value == pytest.approx(4.295) and snap.time == NOW - timedelta(minutes=1)
    assert snap.margin == pytest.approx(0.205) and snap.guaranteed_margin == pytest.approx(0.905)
    assert snap.rate_of_rise == pytest.approx(0.3) and snap.totals == {} and snap.dry_days is None
    assert not snap.stale
    assert build_snapshot(river, stage, NOW + timedelta(minutes=32)).stale   # silent for more than 2 × 15 min

    gauge = Station(id="rain", name={"en": "g"}, kind="rain", interval="5m")
    rain_readings = [reading("rain", "rain_mm", m, 2.0) for m in range(0, 24 * 60, 60)]
    rain_snap = build_snapshot(gauge, rain_readings, NOW, SnapshotSpec(zone=SHANGHAI))
    assert rain_snap.totals == {H: 2.0, 3 * H: 6.0, 6 * H: 12.0, 24 * H: 48.0}
    assert rain_snap.dry_days == 0 and rain_snap.rates == {} and rain_snap.margin is None

    pond = Station(id="pond", name={"en": "p"}, kind="reservoir", capacity=0.12, interval="1d")
    volume = build_snapshot(pond, [reading("pond", "storage_mcm", 60, 0.03)], NOW)
    assert volume.storage_pct == pytest.approx(25.0)
    newer_report = build_snapshot(pond, [reading("pond", "storage_mcm", 60, 0.03),
                                         reading("pond", "storage_pct", 10, 40.0)], NOW)
    assert newer_report.storage_pct == 40.0
    empty = build_snapshot(pond, [], NOW)
    assert empty.stale and empty.value is None and empty.last_time is None and empty.storage_pct is None


def test_utc_offsets_find_each_change_to_the_second() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start, end = epoch(datetime(2027, 1, 1, tzinfo=UTC)), epoch(datetime(2028, 1, 1, tzinfo=UTC))
    assert utc_offsets(berlin, start, end) == (
        (start, 3600), (epoch(datetime(2027, 3, 28, 1, 0, tzinfo=UTC)), 7200),
        (epoch(datetime(2027, 10, 31, 1, 0, tzinfo=UTC)), 3600))
    assert utc_offsets(ZoneInfo("Asia/Shanghai"), start, end) == ((start, 8 * 3600),)
    india = timezone(timedelta(hours=5, minutes=30))
    assert utc_offsets(india, start, end) == ((start, 19800),)


def test_day_start_is_local_midnight_whatever_the_offset_that_day() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    for day in (date(2027, 3, 27), date(2027, 3, 28), date(2027, 3, 29), date(2027, 10, 31)):
        number = day.toordinal() - date(1970, 1, 1).toordinal()
        midnight = datetime.combine(day, datetime.min.time(), tzinfo=berlin)
        assert day_start(number, berlin) == epoch(midnight)
        assert local_day(midnight + timedelta(seconds=1), berlin) == number  # the first second belongs to it
