"""Scenario series and behaviour: pure functions of the scenario and a seed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from responder.domain.drills import Behaviour, Delay, Listed, People, River, Storm, behaviour_for, sample_series
from responder.domain.readings import epoch_seconds

T0 = datetime(2027, 7, 10, tzinfo=UTC)


def test_listed_values_are_interpolated_on_the_sampling_grid() -> None:
    series = Listed(station="s", every=timedelta(hours=1), values=[{"at": "0h", "value": 1.0},
                                                                    {"at": "4h", "value": 3.0}])
    times, values = sample_series(series, T0, T0 + timedelta(hours=6), {})
    assert values == [1.0, 1.5, 2.0, 2.5, 3.0, 3.0, 3.0]
    assert times == [epoch_seconds(T0) + 3600 * h for h in range(7)]


def test_listed_times_out_of_order_are_refused() -> None:
    with pytest.raises(ValidationError, match="out of order"):
        Listed(station="s", values=[{"at": "2h", "value": 1.0}, {"at": "1h", "value": 2.0}])


def test_negative_storm_total_is_refused() -> None:
    with pytest.raises(ValidationError):
        Storm(kind="storm", station="r", start="1h", duration="2h", total_mm=-5)


@given(total=st.floats(min_value=0, max_value=600), hours=st.integers(min_value=1, max_value=48),
       shape=st.sampled_from(["bell", "steady"]))
def test_a_storm_drops_exactly_its_total(total: float, hours: int, shape: str) -> None:
    storm = Storm(kind="storm", station="r", start="2h", duration=f"{hours}h", total_mm=total, shape=shape)
    times, values = sample_series(storm, T0, T0 + timedelta(hours=hours + 4), {})
    assert sum(values) == pytest.approx(total, abs=0.001 * len(values) + 1e-6)
    assert all(v >= 0 for v in values)
    assert all(v == 0 for t, v in zip(times, values, strict=True) if t <= epoch_seconds(T0 + timedelta(hours=2)))


def test_a_river_rises_after_the_rain_with_its_lag_and_recedes() -> None:
    rain = Storm(kind="storm", station="r", every="1h", start="0h", duration="4h", total_mm=100, shape="steady")
    rain_times, rain_values = sample_series(rain, T0, T0 + timedelta(hours=24), {})
    river = River(kind="river", station="g", every="1h", base=2.0, rain_station="r", gain_m_per_mm=0.02,
                  lag="2h", recession_per_hour=0.1)
    _, levels = sample_series(river, T0, T0 + timedelta(hours=24), {"r": dict(zip(rain_times, rain_values,
                                                                                    strict=True))})
    assert levels[:3] == [2.0, 2.0, 2.0]  # nothing before the lag has passed
    peak = levels.index(max(levels))
    assert 4 <= peak <= 7
    assert levels[-1] < max(levels) and levels[-1] > 2.0


def test_behaviour_layers_person_over_group_over_default() -> None:
    people = People(default=Behaviour(never_reply=0.1, reply_after=Delay(fixed="2m")),
                    groups={"rescue": Behaviour(never_reply=0.5)},
                    persons={"R001": Behaviour(voice_only=True)})
    b = behaviour_for(people, "R001", ("rescue",))
    assert (b.never_reply, b.voice_only, b.reply_after) == (0.5, True, Delay(fixed="2m"))
    assert behaviour_for(people, "X", ()).never_reply == 0.1


@given(seed=st.integers(min_value=0, max_value=2**32))
def test_lognormal_delay_has_its_median(seed: int) -> None:
    delay = Delay(median="4m", p90="10m")
    rng = random.Random(seed)
    samples = sorted(delay.sample(rng.random(), rng.gauss(0, 1)).total_seconds() for _ in range(801))
    assert 180 <= samples[400] <= 320
    assert samples[720] == pytest.approx(600, rel=0.35)


def test_delay_needs_one_form() -> None:
    with pytest.raises(ValidationError):
        Delay(fixed="1m", median="2m", p90="3m")
    with pytest.raises(ValidationError):
        Delay(median="5m", p90="1m")


STORM_HOURS = [2.5, 5, 10, 20, 35, 50, 65, 80, 70, 55, 40, 30, 25, 20, 15, 10, 7, 6, 4, 2.5, 0.5, 0, 0]
"""Hourly totals of a real storm's shape: 552.5 mm in 23 hours."""


def hourly_totals(**extra: object) -> Listed:
    return Listed.model_validate({"station": "r", "every": "15m", "rain": "totals", "per": "1h",
                                  "values": [{"at": f"{h + 1}h", "value": v} for h, v in enumerate(STORM_HOURS)],
                                  **extra})


def test_hourly_totals_on_a_15_minute_gauge_keep_their_sum_and_stop_after_the_last() -> None:
    """Interpolated, these counted every hour four times (2,870.8 mm instead of 552.5)."""
    times, values = sample_series(hourly_totals(), T0, T0 + timedelta(hours=30), {})
    assert sum(STORM_HOURS) == 552.5
    assert sum(values) == pytest.approx(552.5, abs=1e-6)
    assert values[1:5] == [0.625] * 4                         # the first hour's 2.5 mm, a quarter per reading
    assert values[0] == 0.0 and all(v == 0 for v in values[4 * 23 + 1:])  # nothing before, nothing after
    assert len(times) == 4 * 30 + 1


def test_intensities_and_rain_that_goes_on() -> None:
    steady = Listed.model_validate({"station": "r", "every": "30m", "rain": "intensity", "per": "2h",
                                    "values": [{"at": "2h", "value": 6.0}, {"at": "4h", "value": 3.0}]})
    _, values = sample_series(steady, T0, T0 + timedelta(hours=6), {})
    assert sum(values) == pytest.approx(6.0 * 2 + 3.0 * 2)
    assert values[1:9] == [3.0] * 4 + [1.5] * 4 and set(values[9:]) == {0.0}
    going_on = steady.model_copy(update={"after_last": "continue"})
    _, values = sample_series(going_on, T0, T0 + timedelta(hours=6), {})
    assert values[9:] == [1.5] * 4


@given(every=st.integers(min_value=1, max_value=180), per=st.sampled_from([5, 10, 15, 30, 60, 180]))
def test_totals_keep_their_sum_on_any_gauge_interval(every: int, per: int) -> None:
    values = [{"at": f"{per * (i + 1)}m", "value": v} for i, v in enumerate([3.0, 0.0, 7.5, 1.25])]
    series = Listed.model_validate({"station": "r", "every": f"{every}m", "rain": "totals", "per": f"{per}m",
                                    "values": values})
    end = T0 + timedelta(minutes=per * 4 + every)              # the last reading covers the last listed minute
    _, got = sample_series(series, T0, end, {})
    assert sum(got) == pytest.approx(11.75, abs=1e-5)


def test_rain_needs_its_interval_and_per_needs_rain() -> None:
    with pytest.raises(ValidationError, match="rain: totals needs per"):
        Listed.model_validate({"station": "r", "rain": "totals", "values": [{"at": "1h", "value": 1.0}]})
    with pytest.raises(ValidationError, match="per is for rain"):
        Listed.model_validate({"station": "r", "per": "1h", "values": [{"at": "1h", "value": 1.0}]})
