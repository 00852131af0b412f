"""OGC WaterML 2.0: the real USGS sample (with its empty point), our fixture, invalid and hostile XML."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from feeds_support import DATA, NOW, SHANGHAI, feed, shared, station

from responder.feeds import read_feed

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
    assert reasons[1].startswith("unknown station (identifiers: http://hydro.example.cn/stations/60899999")
    ignoring = read_feed(county.model_copy(update={"unknown_stations": "ignore"}), longhe, NOW, zone=SHANGHAI)
    assert [r.reason for r in ignoring.rejected] == ["no time"]


def test_an_unmapped_parameter_is_noted_not_guessed() -> None:
    county = feed("wml", "waterml2", path=str(DATA / "wml2_longhe_stage.xml"), unknown_stations="ignore")
    result = read_feed(county, [station("longhe-town", "river", "wml", "60812300")], NOW)
    assert result.ok and result.readings == []
    assert "is not mapped to a quantity" in result.notes[0]


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
