"""Every feed reader uses the one number grammar (issue 22, point 1): a value ``float()`` would take but a
person would not write is quarantined with the reason, never stored."""

from __future__ import annotations

import json
from pathlib import Path

from feeds_support import DATA, NOW, SHANGHAI, feed, station

from responder.feeds import read_feed

RAIN = [station("rain-yuquanzi", "rain", "county", "60812400")]
ODD = ["1_5", "١٥", "１５", "1.5e", "0x1f", "Infinity", "1\u200b5"]


def test_csv_values_outside_the_grammar_are_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    rows = [f"60812400,2027-07-01 0{i}:00,{value}" for i, value in enumerate(ODD)]
    path.write_text("station,time,value\n" + "\n".join([*rows, "60812400,2027-07-01 08:00,15"]) + "\n",
                    encoding="utf-8")
    result = read_feed(feed("county", "csv", path=str(path)), RAIN, NOW, zone=SHANGHAI)
    assert [r.value for r in result.readings] == [15.0]
    assert [r.location for r in result.rejected] == [f"line {i + 2}" for i in range(len(ODD))]
    assert all("not a number" in r.reason or "not a finite number" in r.reason for r in result.rejected)


def test_usgs_values_outside_the_grammar_are_quarantined(tmp_path: Path) -> None:
    document = json.loads((DATA / "usgs_iv_sanjian.json").read_text(encoding="utf-8"))
    rain = document["value"]["timeSeries"][0]  # the rain gauge's precipitation (00045)
    points = [p for block in rain["values"] for p in block["value"]]
    for point, value in zip(points, ODD, strict=False):
        point["value"] = value
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = read_feed(feed("usgs", "usgs", path=str(path)), [station("rain", "rain", "usgs", "60812400")], NOW,
                       zone=SHANGHAI)
    refused = [r for r in result.rejected if "not a number" in r.reason or "not a finite number" in r.reason]
    assert len(points) >= 3 and len(refused) == min(len(points), len(ODD)), result.rejected
    assert all(r.value != 15.0 for r in result.readings)
