"""OGC WaterML 2.0: the real USGS sample (with its empty point), our fixture, invalid and hostile XML."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from feeds_support import DATA, NOW, SHANGHAI, feed, shared, station

from responder.feeds import read_feed
from responder.feeds.base import FeedContext
from responder.feeds.waterml2 import parse

WML = feed("wml", "waterml2", path="x.xml", timezone="America/New_York")


def test_real_usgs_daily_discharge_with_an_empty_point() -> None:
    path = shared("wml2_usgs_dv_01646500_00060.xml")
    potomac = [station("little-falls", "river", "wml", "01646500")]
    result = read_feed(WML.model_copy(update={"path": str(path)}), potomac, datetime(2014, 10, 30, tzinfo=UTC))
    assert result.ok and result.rejected == [] and result.notes == []
    assert result.missing == 1                      # the point with neither time nor value
    assert len(result.readings) == 8
    first = result.readings[0]
    assert (first.station, first.quantity, first.unit) == ("little-falls", "flow_m3s", "m3/s")
    assert first.time == datetime(2014, 9, 1, 4, 0, tzinfo=UTC)      # a date, read in the feed's zone
    assert first.value == pytest.approx(2690.0 * 0.028316846592)      # ft3/s → m3/s
    assert [round(r.value / 0.028316846592) for r in result.readings] == [2690, 2750, 2990, 3180, 2940, 3100,
                                                                          2620, 2300]


def test_our_stage_fixture_units_nil_values_and_an_unknown_station() -> None:
    county = feed("wml", "waterml2", path=str(DATA / "wml2_longhe_stage.xml"), parameters={"stage": "stage_m"})
    longhe = [station("longhe-town", "river", "wml", "60812300")]
    result = read_feed(county, longhe, NOW, zone=SHANGHAI)
    assert result.error is None
    assert [(r.time.isoformat(), r.value) for r in result.readings] == [
        ("2027-06-30T23:00:00+00:00", 4.02), ("2027-06-30T23:30:00+00:00", 4.18),
        ("2027-07-01T00:30:00+00:00", 4.55)]        # 455 cm, unit given on the point
    assert result.missing == 1                      # xsi:nil
    reasons = sorted(r.reason for r in result.rejected)
    assert reasons[0] == "no time"
    assert reasons[1].startswith("unknown station (ids seen: feature_of_interest "
                                 "http://hydro.example.cn/stations/60899999")
    ignoring = read_feed(county.model_copy(update={"unknown_stations": "ignore"}), longhe, NOW, zone=SHANGHAI)
    assert [r.reason for r in ignoring.rejected] == ["no time"]


def test_an_unmapped_parameter_is_noted_not_guessed() -> None:
    county = feed("wml", "waterml2", path=str(DATA / "wml2_longhe_stage.xml"), unknown_stations="ignore")
    result = read_feed(county, [station("longhe-town", "river", "wml", "60812300")], NOW)
    assert result.ok and result.readings == []
    assert "is not mapped to a quantity" in result.notes[0]
    assert result.unknown_parameters == {"Stage": 2}           # both series, ours and the unknown station's


@pytest.mark.parametrize(("body", "error"), [
    (b"<wml2:Collection xmlns:wml2='http://www.opengis.net/waterml/2.0'><unclosed></wml2:Collection>",
     "invalid XML: Opening and ending tag mismatch"),
    (b"", "invalid XML"),
    (b'{"value": {}}', "invalid XML"),
    (b"<html><body>Maintenance</body></html>", "changed schema: the document is 'html', not a WaterML 2.0 Collection"),
    (b"<wml2:Collection xmlns:wml2='http://www.opengis.net/waterml/2.0' "
     b"xmlns:om='http://www.opengis.net/om/2.0'><wml2:observationMember><om:OM_Observation/>"
     b"</wml2:observationMember></wml2:Collection>",
     "changed schema: observation[0] has no om:result/wml2:MeasurementTimeseries"),
])
def test_bad_documents_are_feed_errors(tmp_path: Path, body: bytes, error: str) -> None:
    path = tmp_path / "doc.xml"
    path.write_bytes(body)
    result = read_feed(WML.model_copy(update={"path": str(path)}), [], NOW)
    assert result.error is not None and result.error.startswith(error), result.error


def test_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("42.0")
    document = (DATA / "wml2_longhe_stage.xml").read_text().replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY xxe SYSTEM "file://{secret}"><!ENTITY lol "lol">]>').replace(
        "<wml2:value>4.02</wml2:value>", "<wml2:value>&xxe;</wml2:value>").replace(
        "<wml2:value>4.18</wml2:value>", "<wml2:value>&lol;&lol;</wml2:value>")
    path = tmp_path / "xxe.xml"
    path.write_text(document)
    county = feed("wml", "waterml2", path=str(path), parameters={"stage": "stage_m"}, unknown_stations="ignore")
    result = read_feed(county, [station("longhe-town", "river", "wml", "60812300")], NOW, zone=SHANGHAI)
    assert result.ok
    assert 42.0 not in [r.value for r in result.readings]
    assert [r.value for r in result.readings] == [4.55]
    assert result.missing == 3


FC = DATA / "wml2_featurecollection.xml"
FC_NOW = datetime(2027, 7, 1, 13, 0, tzinfo=UTC)
FC_FEED = feed("wml", "waterml2", path=str(FC), timezone="UTC", parameters={"Q": "flow_m3s", "H": "stage_m"})


def test_a_feature_collection_is_read_wherever_its_series_sit() -> None:
    stations = [station("potomac", "river", "wml", "01646500"),
                station("longhe", "river", "wml", "60812300", timezone="Asia/Shanghai")]
    result = read_feed(FC_FEED, stations, FC_NOW, zone=ZoneInfo("America/New_York"))
    assert result.ok, result.error
    got = [(r.station, r.quantity, r.time.isoformat(), round(r.value, 2)) for r in result.readings]
    assert got == [
        ("potomac", "flow_m3s", "2027-07-01T11:00:00+00:00", 100.0),    # ft3/s; 06:00 at the point's -05:00
        ("potomac", "flow_m3s", "2027-07-01T12:00:00+00:00", 200.0),
        ("longhe", "flow_m3s", "2027-07-01T00:00:00+00:00", 120.5),     # cumec; 08:00 in the station's zone
        ("longhe", "flow_m3s", "2027-07-01T00:15:00+00:00", 131.0)]
    assert result.unknown_parameters == {"00010": 1}                     # water temperature, counted
    refused, unknown = result.rejected
    assert refused.station == "longhe" and refused.location == "series[3] (ts.4) wml2:MeasurementTimeseries uom"
    assert refused.reason.startswith("series refused: wrong unit 'chi' for stage_m")
    assert unknown.station is None and unknown.location == "series[4] (ts.99)"
    assert unknown.reason == ("unknown station (ids seen: feature_of_interest http://hydro.example.cn/stations/60899999;"
                              " observation_id obs.99, ts.99)")


def test_no_offset_times_fall_back_to_the_feeds_zone_then_the_plans() -> None:
    longhe = [station("longhe", "river", "wml", "60812300")]
    in_feed_zone = read_feed(FC_FEED, longhe, FC_NOW, zone=SHANGHAI, since=datetime(2027, 7, 1, 2, tzinfo=UTC))
    assert [r.time.isoformat() for r in in_feed_zone.readings] == ["2027-07-01T08:00:00+00:00",
                                                                   "2027-07-01T08:15:00+00:00"]
    no_zone = FC_FEED.model_copy(update={"timezone": None})
    in_plan_zone = read_feed(no_zone, longhe, FC_NOW, zone=SHANGHAI)
    assert [r.time.isoformat() for r in in_plan_zone.readings] == ["2027-07-01T00:00:00+00:00",
                                                                   "2027-07-01T00:15:00+00:00"]


def test_the_site_id_is_matched_where_the_feed_says_and_the_ids_seen_are_reported() -> None:
    only_sampled = FC_FEED.model_copy(update={"site_id_from": ["sampled_feature"], "unknown_stations": "quarantine"})
    by_name = read_feed(only_sampled, [station("longhe", "river", "wml", "60812300")], FC_NOW)
    assert by_name.readings == []                           # 60812300 is its gml:name, not its sampled feature
    assert {r.reason for r in by_name.rejected} >= {
        "unknown station (ids seen: sampled_feature http://hydro.example.cn/rivers/longhe, HY-60812300)"}
    by_sampled = read_feed(only_sampled, [station("longhe", "river", "wml", "HY-60812300")], FC_NOW)
    assert [r.value for r in by_sampled.readings] == [120.5, 131.0]
    by_identifier = FC_FEED.model_copy(update={"site_id_from": ["identifier"], "unknown_stations": "ignore"})
    potomac = read_feed(by_identifier, [station("potomac", "river", "wml", "01646500")], FC_NOW)
    assert len(potomac.readings) == 2                       # USGS.01646500, the collection's gml:identifier


def test_the_real_usgs_sample_wrapped_in_a_feature_collection_reads_the_same() -> None:
    text = shared("wml2_usgs_dv_01646500_00060.xml").read_text()
    body = text[text.index("<wml2:Collection"):]
    wrapped = ('<gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml/3.2"><gml:featureMember>'
               + body + "</gml:featureMember></gml:FeatureCollection>")
    potomac = [station("little-falls", "river", "wml", "01646500")]
    now = datetime(2014, 10, 30, tzinfo=UTC)
    plain = read_feed(WML.model_copy(update={"path": str(shared("wml2_usgs_dv_01646500_00060.xml"))}), potomac, now)
    ctx = FeedContext(WML, potomac, now)
    parse(wrapped.encode(), ctx)
    assert ctx.result.readings == plain.readings and len(plain.readings) == 8
    assert ctx.result.missing == plain.missing == 1


@pytest.mark.parametrize("uom", ['<wml2:uom code="[ft_i]3/s"/>', '<wml2:uom code="ft^3/s"/>',
                                 '<wml2:uom xlink:href="http://www.opengis.net/def/uom/UCUM/[cft_i]/s"/>',
                                 '<wml2:uom code="cfs"/>'])
def test_ucum_and_usgs_spellings_of_one_unit(tmp_path: Path, uom: str) -> None:
    text = FC.read_text().replace('<wml2:uom xlink:title="ft3/s"/>', uom)
    path = tmp_path / "fc.xml"
    path.write_text(text)
    result = read_feed(FC_FEED.model_copy(update={"path": str(path)}), [station("potomac", "river", "wml", "01646500")],
                       FC_NOW)
    assert [round(r.value, 2) for r in result.readings] == [100.0, 200.0]
