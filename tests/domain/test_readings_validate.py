"""Validation is the same for every feed: a bad row is rejected with its reason, never raised."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from responder.domain.readings import (
    RawReading,
    Reading,
    Rejected,
    epoch_seconds,
    manual_reading,
    parse_time,
    validate,
    validate_series,
)
from responder.domain.stations import Station

NOW = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)  # 09:00 in Sanjian
SHANGHAI = ZoneInfo("Asia/Shanghai")
RAIN = Station(id="rain-yuquanzi", name={"en": "Yuquanzi"}, kind="rain", feed="county", source_id="60812400")
RIVER = Station(id="longhe-town", name={"en": "Long River"}, kind="river", feed="county", warning_level=4.5,
                bounds={"stage_m": {"min": 0, "max": 12}})
STATIONS = {RAIN.source: RAIN, RIVER.source: RIVER}


def raw(source: str = "60812400", time: object = "2027-07-01 08:00", value: object = "12.5",
        **kw: object) -> RawReading:
    return RawReading("county", source, time, value, raw="row", location="line 2", **kw)  # type: ignore[arg-type]


def check(row: RawReading) -> Reading | Rejected:
    return validate(row, STATIONS, NOW, zone=SHANGHAI)


def test_a_good_row_becomes_a_reading_in_utc_and_canonical_units() -> None:
    reading = check(raw())
    assert reading == Reading("rain-yuquanzi", datetime(2027, 7, 1, 0, 0, tzinfo=UTC), "rain_mm", 12.5, "mm", "county")
    stage = check(raw("longhe-town", "2027-07-01T00:30:15.750Z", 14.0, quantity="stage_m", unit="ft"))
    assert isinstance(stage, Reading)
    assert stage.value == pytest.approx(4.2672) and stage.unit == "m"
    assert stage.time == datetime(2027, 7, 1, 0, 30, 15, tzinfo=UTC)  # whole seconds, as stored


@pytest.mark.parametrize(("row", "reason"), [
    (raw(source="99999999"), "unknown station '99999999'"),
    (raw(value="abc"), "'abc' is not a number"),
    (raw(value=""), "no value"),
    (raw(value=None), "no value"),
    (raw(value="NaN"), "not a finite number"),
    (raw(value=float("inf")), "not a finite number"),
    (raw(value=True), "is not a number"),
    (raw(value="-3"), "outside the physical bounds [0, 500] of rain_mm"),
    (raw(value="900"), "outside the physical bounds"),
    (raw("longhe-town", value="12.5", quantity="stage_m"), "outside the physical bounds [0, 12]"),
    (raw(time="2027-07-01 09:06"), "is in the future"),
    (raw(time="yesterday"), "is not a time"),
    (raw(time=None), "no time"),
    (raw(unit="ft3/s"), "wrong unit 'ft3/s' for rain_mm"),
    (raw(quantity="flow_m3s"), "does not measure flow_m3s"),
    (raw(quantity="temperature"), "unknown quantity 'temperature'"),
])
def test_bad_rows_are_rejected_with_a_reason(row: RawReading, reason: str) -> None:
    outcome = check(row)
    assert isinstance(outcome, Rejected), outcome
    assert reason in outcome.reason
    assert outcome.raw == "row" and outcome.location == "line 2" and outcome.feed == "county"
    assert (outcome.station is None) == ("unknown station" in reason)


def test_a_little_clock_skew_is_tolerated() -> None:
    assert isinstance(check(raw(time="2027-07-01 09:04")), Reading)
    assert isinstance(validate(raw(time="2027-07-01 09:04"), STATIONS, NOW, zone=SHANGHAI,
                               max_skew=timedelta(0)), Rejected)


def test_times_are_read_in_the_given_zone_unless_they_carry_one() -> None:
    assert parse_time("2027-07-01 08:00", SHANGHAI) == datetime(2027, 7, 1, 0, 0, tzinfo=UTC)
    assert parse_time("2027/07/01 08:00", SHANGHAI) == datetime(2027, 7, 1, 0, 0, tzinfo=UTC)
    assert parse_time("2027-07-01T08:00:00+00:00", SHANGHAI) == datetime(2027, 7, 1, 8, 0, tzinfo=UTC)
    assert parse_time("2014-09-01", ZoneInfo("America/New_York")) == datetime(2014, 9, 1, 4, 0, tzinfo=UTC)
    assert parse_time(date(2014, 9, 1), UTC) == datetime(2014, 9, 1, tzinfo=UTC)
    assert parse_time(datetime(2027, 7, 1, 8, 0), SHANGHAI) == datetime(2027, 7, 1, 0, 0, tzinfo=UTC)


def test_duty_staff_can_enter_a_value_for_any_station_by_its_id() -> None:
    reading = manual_reading("longhe-town", "4.62", [RAIN, RIVER], NOW, by="O003")
    assert reading == Reading("longhe-town", NOW, "stage_m", 4.62, "m", "manual:O003")
    earlier = manual_reading("rain-yuquanzi", 30, [RAIN, RIVER], NOW, by="O003", time="2027-07-01 08:30",
                             zone=SHANGHAI)
    assert isinstance(earlier, Reading) and earlier.time == datetime(2027, 7, 1, 0, 30, tzinfo=UTC)
    flag = manual_reading("longhe-town", 1, [RIVER], NOW, by="O003", quantity="dam_break")
    assert isinstance(flag, Reading) and flag.quantity == "dam_break"
    bad = manual_reading("60812400", "3", [RAIN], NOW, by="O003")  # the feed's code is not the station id
    assert isinstance(bad, Rejected) and "unknown station" in bad.reason and bad.location == "entered by O003"


def _one_by_one(source: str, times: list[int], values: list[float], **kw: object) -> list[Reading | Rejected]:
    return [validate(RawReading("county", source, datetime.fromtimestamp(t, UTC), v,
                                location=datetime.fromtimestamp(t, UTC).isoformat(), **kw),  # type: ignore[arg-type]
                     STATIONS, NOW, source="county") for t, v in zip(times, values, strict=True)]


@pytest.mark.parametrize(("source", "values", "kw"), [
    ("60812400", [0.0, 2.5, 12.5], {}),                                      # all good: the fast path
    ("60812400", [1.0, -3.0, float("nan"), 600.0, 4.0], {}),                 # some bad: each checked alone
    ("longhe-town", [10.0, 14.0, 50.0], {"quantity": "stage_m", "unit": "ft"}),  # converted, one above bounds
    ("longhe-town", [1.0, 2.0], {"quantity": "rain_mm"}),                    # not measured there
    ("99999999", [1.0], {}),                                                 # unknown station
])
def test_a_series_is_judged_exactly_as_its_values_one_by_one(source: str, values: list[float],
                                                              kw: dict[str, str]) -> None:
    start = epoch_seconds(NOW) - 3600
    times = [start + 300 * i for i in range(len(values))]
    series, rejected = validate_series("county", source, times, values, STATIONS, NOW, source="county", **kw)
    expected = _one_by_one(source, times, values, **kw)
    assert rejected == [r for r in expected if isinstance(r, Rejected)]
    good = [r for r in expected if isinstance(r, Reading)]
    assert (series.readings() if series else []) == good


def test_a_series_reaching_into_the_future_rejects_only_the_future_values() -> None:
    times = [epoch_seconds(NOW) + m * 60 for m in (0, 4, 6, 60)]
    series, rejected = validate_series("county", "60812400", times, [1.0] * 4, STATIONS, NOW)
    assert series is not None and list(series.times) == times[:2]
    assert [r.reason.endswith("is in the future") for r in rejected] == [True, True]
