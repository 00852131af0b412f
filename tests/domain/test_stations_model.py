"""Stations and feeds as configuration: units are converted explicitly, and mistakes are refused with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from responder.configfiles.plan_file import read_plan
from responder.domain.checks import check_all
from responder.domain.plan import Plan
from responder.domain.roster import Roster
from responder.domain.stations import (
    CANONICAL_UNIT,
    DEFAULT_BOUNDS,
    Feed,
    ParameterMap,
    Station,
    convert,
    station_for,
    stations_of,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("value", "unit", "quantity", "expected"), [
    (1.0, "in", "rain_mm", 25.4),            # USGS 00045 precipitation, inches
    (4.36, "ft", "stage_m", 1.328928),       # USGS 00065 gage height, feet
    (439.0, "ft3/s", "flow_m3s", 12.431095653888),
    (100.0, "ft³/s", "flow_m3s", 2.8316846592),
    (2.5, "cm", "rain_mm", 25.0),
    (1234.0, "mm", "stage_m", 1.234),
    (1.0, "acre-ft", "storage_mcm", 0.00123348183754752),
    (12.0, "万m3", "storage_mcm", 0.12),
    (0.12, "10^6 m3", "storage_mcm", 0.12),
    (35.0, "%", "storage_pct", 35.0),
    (7.5, "mm", "rain_mm", 7.5),
])
def test_units_are_converted_to_the_canonical_unit(value: float, unit: str, quantity: str, expected: float) -> None:
    assert convert(value, unit, quantity) == pytest.approx(expected, rel=1e-12)  # type: ignore[arg-type]


@pytest.mark.parametrize(("unit", "quantity"), [("ft3/s", "rain_mm"), ("mm", "flow_m3s"), ("degC", "stage_m"),
                                                ("%", "storage_mcm")])
def test_a_unit_of_another_dimension_is_a_wrong_unit(unit: str, quantity: str) -> None:
    with pytest.raises(ValueError, match="wrong unit"):
        convert(1.0, unit, quantity)  # type: ignore[arg-type]


def test_every_quantity_has_a_canonical_unit_and_bounds() -> None:
    assert set(CANONICAL_UNIT) == set(DEFAULT_BOUNDS)
    for quantity, unit in CANONICAL_UNIT.items():
        assert convert(3.0, unit, quantity) == 3.0


def test_station_defaults_follow_its_kind() -> None:
    river = Station(id="longhe-town", name={"en": "Long River"}, kind="river", feed="county", warning_level=4.5)
    assert river.source == "longhe-town"
    assert river.primary == "stage_m"
    assert river.measures("flow_m3s") and river.measures("dam_break") and not river.measures("rain_mm")
    assert river.unit_for("stage_m") == "m"
    assert river.interval == timedelta(hours=1)
    assert river.bounds_for("stage_m").min == DEFAULT_BOUNDS["stage_m"][0]
    gauge = Station(id="g", name={"en": "g"}, kind="river", source_id="01491000", unit="ft",
                    bounds={"stage_m": {"min": 0, "max": 12}}, interval="15m")
    assert gauge.source == "01491000" and gauge.unit_for("stage_m") == "ft" and gauge.unit_for("flow_m3s") == "m3/s"
    assert 12.0 in gauge.bounds_for("stage_m") and 12.1 not in gauge.bounds_for("stage_m")


@pytest.mark.parametrize(("fields", "message"), [
    ({"kind": "rain", "warning_level": 3.0}, "no warning"),
    ({"kind": "river", "warning_level": 5.0, "guaranteed_level": 4.0}, "cannot be below"),
    ({"kind": "river", "capacity": 1.0}, "only a reservoir"),
    ({"kind": "rain", "unit": "ft3/s"}, "wrong unit"),
    ({"kind": "rain", "quantities": ["rain_mm", "rain_mm"]}, "twice"),
    ({"kind": "rain", "interval": "0s"}, "outside the bounds 1m–7d"),
    ({"kind": "lake"}, "Input should be"),
    ({"kind": "rain", "bounds": {"rain_mm": {"min": 5, "max": 1}}}, "min < max"),
])
def test_station_mistakes_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Station.model_validate({"id": "s1", "name": {"en": "s"}, **fields})


def test_feed_needs_exactly_the_source_its_kind_reads() -> None:
    assert Feed(id="c", kind="csv", path="config/feeds/x.csv").location == "config/feeds/x.csv"
    assert Feed(id="u", kind="usgs", url="https://waterservices.usgs.gov/nwis/iv/?format=json").url
    assert Feed(id="m", kind="manual").location == "manual"
    for bad in ({"kind": "csv"}, {"kind": "csv", "path": "a", "url": "https://x"}, {"kind": "sl323", "path": "x"},
                {"kind": "manual", "path": "x"}, {"kind": "usgs", "url": "ftp://x"}):
        with pytest.raises(ValidationError):
            Feed.model_validate({"id": "f", **bad})
    with pytest.raises(ValidationError, match="unknown time zone"):
        Feed(id="f", kind="manual", timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="unknown text encoding"):
        Feed(id="f", kind="csv", path="x", encoding="klingon")


def test_feed_parameters_accept_a_shorthand_and_extend_the_usgs_codes() -> None:
    feed = Feed.model_validate({"id": "u", "kind": "usgs", "path": "x.json",
                                "parameters": {"00065": {"quantity": "stage_m", "unit": "ft"}, "72020": "stage_m"}})
    mapping = feed.parameter_map()
    assert mapping["00045"] == ParameterMap(quantity="rain_mm")
    assert mapping["72020"] == ParameterMap(quantity="stage_m")
    assert mapping["00065"].unit == "ft"
    assert Feed(id="c", kind="csv", path="x").parameter_map() == {}
    with pytest.raises(ValidationError, match="wrong unit"):
        Feed.model_validate({"id": "u", "kind": "usgs", "path": "x", "parameters": {"1": {"quantity": "rain_mm",
                                                                                          "unit": "ft3/s"}}})


def test_stations_of_a_feed_are_keyed_by_their_id_in_that_feed() -> None:
    a = Station(id="a", name={"en": "a"}, kind="rain", feed="county", source_id="60812400")
    b = Station(id="b", name={"en": "b"}, kind="rain", feed="other")
    c = Station(id="c", name={"en": "c"}, kind="river", feed="county", source_id="60812400")
    assert stations_of([a, b, c], "county") == {"60812400": (a, c)}
    assert station_for((a, c), "stage_m") is c and station_for((a, c), None) is a
    assert station_for((a, c), "rain_mm") is a and station_for((), "rain_mm") is None


def _plan(**changes: object) -> Plan:
    data = read_plan(REPO / "config" / "plan.yaml").plan.model_dump(mode="json")
    data.update(changes)
    return Plan.model_validate(data)


def test_the_sample_plan_has_feeds_stations_and_rules() -> None:
    plan = read_plan(REPO / "config" / "plan.yaml").plan
    assert {f.kind for f in plan.feeds} >= {"csv", "manual"}
    assert {s.kind for s in plan.stations} == {"rain", "river", "reservoir"}
    rain = next(r for r in plan.rules if r.kind == "rain_total")
    assert rain.thresholds[2] == 200  # type: ignore[union-attr]
    assert {r.hazard for r in plan.rules} == {"flood", "drought"}


def _problems(plan: Plan) -> list[str]:
    return [f"{p.field}: {p.message}" for p in check_all(plan, Roster(()), None, datetime(2026, 7, 1, tzinfo=UTC))
            if p.field and p.field.split(".")[0] in ("feeds", "stations", "rules")]


def test_cross_references_between_feeds_stations_and_rules_are_checked() -> None:
    plan = _plan()
    assert _problems(plan) == []
    data = plan.model_dump(mode="json")
    stations = data["stations"]
    stations.append({**stations[0]})                                      # duplicate id
    stations.append({"id": "ghost", "name": {"en": "g"}, "kind": "rain", "feed": "no-such-feed"})
    stations.append({"id": "rain2", "name": {"en": "r"}, "kind": "rain", "feed": "county-rain",
                     "source_id": "rain-yuquanzi"})                      # same source id on one feed
    stations.append({"id": "dry-river", "name": {"en": "d"}, "kind": "river"})  # no warning level
    rules = data["rules"]
    rules.append({"id": "bad-level", "kind": "water_level", "stations": ["rain-yuquanzi", "nowhere", "dry-river"]})
    rules.append({"id": "bad-hazard", "kind": "rain_total", "hazard": "volcano", "thresholds": {2: 10}})
    rules.append({"id": "dry-2", "kind": "drought_dry_days", "thresholds": {4: 10}, "dry_below_mm": 5})
    rules.append({**rules[0]})
    found = "\n".join(_problems(Plan.model_validate(data)))
    assert "station id 'longhe-town' appears 2 times" in found
    assert "rule id 'rain-24h' appears 2 times" in found
    assert "unknown feed 'no-such-feed'" in found
    assert "both read rain_mm of 'rain-yuquanzi' from feed 'county-rain'" in found
    assert "needs a reservoir or river station; 'rain-yuquanzi' is a rain" in found
    assert "unknown station 'nowhere'" in found
    assert "'dry-river' has no warning_level" in found
    assert "unknown hazard 'volcano'" in found
    assert "same dry_below_mm" in found
