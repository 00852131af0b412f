"""CSV feeds: files or URLs of station,time,value rows; bad rows quarantined with their line, never fatal."""

from __future__ import annotations

from pathlib import Path

import httpx
from feeds_support import DATA, NOW, SHANGHAI, feed, station

from responder.domain.readings import Reading
from responder.feeds import read_feed

STATIONS = [station("rain-yuquanzi", "rain", "county", "60812400"),
            station("rain-caisenba", "rain", "county", "60812410")]


def test_the_county_file_is_read_and_its_bad_rows_quarantined() -> None:
    result = read_feed(feed("county", "csv", path=str(DATA / "county-rain.csv")), STATIONS, NOW, zone=SHANGHAI)
    assert result.ok and result.error is None
    assert [(r.station, r.time.isoformat(), round(r.value, 3), r.unit) for r in result.readings] == [
        ("rain-yuquanzi", "2027-06-30T22:00:00+00:00", 12.5, "mm"),
        ("rain-yuquanzi", "2027-06-30T23:00:00+00:00", 31.0, "mm"),
        ("rain-yuquanzi", "2027-07-01T00:00:00+00:00", 20.32, "mm"),     # 0.8 in
        ("rain-caisenba", "2027-07-01T00:30:00+00:00", 6.5, "mm"),        # quoted fields
    ]
    assert all(isinstance(r, Reading) and r.source == "county" for r in result.readings)
    assert result.missing == 1
    reasons = {r.location: r.reason for r in result.rejected}
    assert reasons == {
        "line 6": "'abc' is not a number",
        "line 7": "-4 mm is outside the physical bounds [0, 500] of rain_mm at rain-caisenba",
        "line 8": "unknown station '60819999'",
        "line 9": "time 2027-07-01T03:00:00+00:00 is in the future",
        "line 10": reasons["line 10"],
        "line 11": "2 values for 4 columns",
    }
    assert reasons["line 10"].startswith("wrong unit 'm3/s' for rain_mm")
    assert next(r for r in result.rejected if r.location == "line 8").raw == "60819999,2027-07-01 08:00,3.0,mm"


def test_since_keeps_only_newer_rows_and_ignore_skips_unknown_stations() -> None:
    county = feed("county", "csv", path=str(DATA / "county-rain.csv"), unknown_stations="ignore")
    result = read_feed(county, STATIONS, NOW, zone=SHANGHAI, since=NOW.replace(hour=0))
    assert [r.value for r in result.readings] == [6.5]
    assert "line 8" not in {r.location for r in result.rejected}


def test_a_relative_path_is_found_from_the_working_folder_and_a_missing_file_is_a_feed_error(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "rain.csv").write_text("station,time,value\n60812400,2027-07-01 08:00,1\n")
    relative = feed("county", "csv", path="feeds/rain.csv")
    assert len(read_feed(relative, STATIONS, NOW, zone=SHANGHAI, base_dir=tmp_path).readings) == 1
    missing = read_feed(relative, STATIONS, NOW, base_dir=tmp_path / "nowhere")
    assert missing.error is not None and missing.error.startswith("file not found") and missing.readings == []


def test_a_changed_header_or_encoding_is_a_feed_error(tmp_path: Path) -> None:
    path = tmp_path / "rain.csv"
    path.write_text("STCD,TM,DRP\n60812400,2027-07-01 08:00,1\n")
    result = read_feed(feed("county", "csv", path=str(path)), STATIONS, NOW)
    assert result.error == ("changed schema: missing column(s) station, time, value (the header must name station, "
                            "time, value; found stcd, tm, drp)")
    path.write_bytes("station,time,value,note\n60812400,2027-07-01 08:00,1,雨\n".encode("gbk"))
    assert "not utf-8 text" in (read_feed(feed("county", "csv", path=str(path)), STATIONS, NOW).error or "")
    gbk = read_feed(feed("county", "csv", path=str(path), encoding="gbk"), STATIONS, NOW, zone=SHANGHAI)
    assert gbk.ok and [r.value for r in gbk.readings] == [1.0]
    path.write_text("")
    assert "missing column" in (read_feed(feed("county", "csv", path=str(path)), STATIONS, NOW).error or "")


def test_a_csv_url_is_fetched_over_http() -> None:
    body = (DATA / "county-rain.csv").read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/rain.csv"
        return httpx.Response(200, content=body, headers={"content-type": "text/csv"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        result = read_feed(feed("county", "csv", url="https://flood.example.cn/rain.csv"), STATIONS, NOW,
                           zone=SHANGHAI, client=client)
    assert result.ok and len(result.readings) == 4 and len(result.rejected) == 6
