"""USGS Water Services IV JSON, real samples as they are: noDataValue, qualifiers, mixed frequencies,
two value blocks for one method, a precipitation series with no values; and truncated or changed JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from feeds_support import DATA, NOW, feed, shared, station

from responder.feeds import read_feed

USGS = feed("usgs", "usgs", path="x.json")


def test_real_two_sites_latest_values_are_converted_to_metric() -> None:
    path = shared("usgs_iv_01491000_01645000_00060_00065.json")
    stations = [station("choptank", "river", "usgs", "01491000"), station("potomac", "river", "usgs", "01645000")]
    result = read_feed(USGS.model_copy(update={"path": str(path)}), stations, datetime(2020, 2, 14, tzinfo=UTC))
    assert result.ok and result.rejected == [] and result.missing == 0
    got = {(r.station, r.quantity): (r.time.isoformat(), round(r.value, 4), r.unit) for r in result.readings}
    assert got == {
        ("choptank", "flow_m3s"): ("2020-02-13T22:15:00+00:00", 12.4311, "m3/s"),   # 439 ft3/s
        ("choptank", "stage_m"): ("2020-02-13T22:15:00+00:00", 1.3289, "m"),        # 4.36 ft
        ("potomac", "flow_m3s"): ("2020-02-13T21:50:00+00:00", 7.3624, "m3/s"),     # 260 ft3/s
        ("potomac", "stage_m"): ("2020-02-13T21:50:00+00:00", 0.8169, "m"),         # 2.68 ft
    }


def test_real_mixed_frequencies_and_a_series_without_values() -> None:
    path = shared("usgs_iv_01541000_01570500_00045_mixed_freq_2018-06-01.json")
    stations = [station("susquehanna-clearfield", "river", "usgs", "01541000"),
                station("harrisburg", "river", "usgs", "01570500"),
                station("harrisburg-rain", "rain", "usgs", "01570500")]
    result = read_feed(USGS.model_copy(update={"path": str(path)}), stations, datetime(2018, 6, 3, tzinfo=UTC))
    assert result.ok and result.rejected == []
    count: dict[tuple[str, str], int] = {}
    for r in result.readings:
        count[(r.station, r.quantity)] = count.get((r.station, r.quantity), 0) + 1
    assert count == {("susquehanna-clearfield", "flow_m3s"): 96, ("susquehanna-clearfield", "stage_m"): 96,
                     ("harrisburg", "flow_m3s"): 48, ("harrisburg", "stage_m"): 48}   # 15 and 30 minutes
    assert "USGS:01570500:00045:00000: no values" in result.notes
    first = min(r.time for r in result.readings if r.station == "harrisburg")
    assert first == datetime(2018, 6, 1, 4, 0, tzinfo=UTC)                          # -04:00 in the data


def test_our_fixture_no_data_value_and_a_word_where_a_number_should_be() -> None:
    stations = [station("rain-yuquanzi", "rain", "usgs", "60812400"), station("longhe-town", "river", "usgs",
                                                                                "60812300")]
    result = read_feed(USGS.model_copy(update={"path": str(DATA / "usgs_iv_sanjian.json")}), stations, NOW)
    assert result.ok and result.missing == 1                                       # -999999 is missing, not bad
    got = [(r.station, r.quantity, round(r.value, 3)) for r in result.readings]
    assert got == [("rain-yuquanzi", "rain_mm", 12.7), ("rain-yuquanzi", "rain_mm", 31.75),
                   ("longhe-town", "stage_m", 4.115), ("longhe-town", "stage_m", 4.298)]
    [bad] = result.rejected
    assert bad.reason == "'Ice' is not a number" and bad.station == "longhe-town"
    assert "values[1].value[0]" in (bad.location or "")


@pytest.mark.parametrize(("body", "error"), [
    (b'{"value": {"timeSeries": [{"sourceInfo": {"siteCode": [{"value": "6081', "invalid JSON (truncated?)"),
    (b"<html>Service Unavailable</html>", "invalid JSON"),
    (b'{"value": {"series": []}}', "changed schema: no value.timeSeries list (missing 'timeSeries')"),
    (b'{"value": {"timeSeries": {}}}', "changed schema: no value.timeSeries list"),
    (b'{"value": {"timeSeries": [{"variable": {}}]}}', "changed schema in timeSeries[0]: missing 'sourceInfo'"),
    (b"\xff\xfe{}", "invalid JSON"),
])
def test_bad_documents_are_feed_errors(tmp_path: Path, body: bytes, error: str) -> None:
    path = tmp_path / "iv.json"
    path.write_bytes(body)
    result = read_feed(USGS.model_copy(update={"path": str(path)}), [station("s", "rain", "usgs", "60812400")], NOW)
    assert result.error is not None and result.error.startswith(error), result.error
    assert result.readings == []


def test_a_bad_series_does_not_hide_the_good_ones(tmp_path: Path) -> None:
    text = (DATA / "usgs_iv_sanjian.json").read_text().replace('"variable": {"variableCode": [{"value": "00010"',
                                                                 '"variabel": {"variableCode": [{"value": "00010"')
    path = tmp_path / "iv.json"
    path.write_text(text)
    stations = [station("rain-yuquanzi", "rain", "usgs", "60812400")]
    result = read_feed(USGS.model_copy(update={"path": str(path)}), stations, NOW)
    assert result.error == "changed schema in timeSeries[2]: missing 'variable'"
    assert len(result.readings) == 2


def test_parameters_the_plan_does_not_map_are_counted_and_a_unit_we_cannot_convert_refuses_its_series() -> None:
    stations = [station("longhe-town", "river", "usgs", "60812300")]
    result = read_feed(USGS.model_copy(update={"path": str(DATA / "usgs_iv_extra_parameters.json")}), stations, NOW)
    assert result.ok
    assert [(r.quantity, round(r.value, 2)) for r in result.readings] == [("flow_m3s", 50.0)]   # ft3/s → m3/s
    assert result.unknown_parameters == {"00035": 2, "00036": 1, "62614": 1}   # wind twice (ours and another site)
    [refused] = result.rejected
    assert refused.station == "longhe-town"
    assert refused.location == "timeSeries[5] USGS:60812300:00065:00000 variable.unit.unitCode"
    assert refused.reason.startswith("series refused: wrong unit 'furlong' for stage_m")
    assert any("parameter 00035 (Wind speed, mph) is not mapped" in note for note in result.notes)


def test_a_mapped_parameter_unit_overrides_the_document() -> None:
    """The plan's unit for a parameter is for a feed that says it wrong: it wins over the document's."""
    usgs = feed("usgs", "usgs", path=str(DATA / "usgs_iv_extra_parameters.json"),
                parameters={"62614": {"quantity": "stage_m", "unit": "m"}})
    result = read_feed(usgs, [station("longhe-town", "river", "usgs", "60812300")], NOW)
    assert sorted((r.quantity, round(r.value, 2)) for r in result.readings) == [("flow_m3s", 50.0),
                                                                               ("stage_m", 812.4)]
    assert result.unknown_parameters == {"00035": 2, "00036": 1}
