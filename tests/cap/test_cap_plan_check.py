"""An incomplete or wrong ``cap:`` section (or zone geometry) is a located error at ``plan check``: file, line
and field, exit 2, never a broken export later."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cap_support import REPO
from plan_mutations import Broken, copied_sample, line_with, located, replaced_once
from typer.testing import Result

Cli = Callable[..., Result]

SCHOOLS_GEOMETRY = "    geometry:\n      circle: {centre: [29.9534, 108.1352], radius_km: 0.4}\n"
AREA_GEOMETRY = next(block for block in (REPO / "config" / "plan.yaml").read_text(encoding="utf-8").split("\n  area:")
                     if "三建乡全境" in block.split("\n")[1]).split("\n", 2)[2]
"""The affected area's geometry lines, as the sample writes them."""


CASES = [
    Broken("level-without-severity",
           "    2: {urgency: Expected, severity: Severe, certainty: Likely, response: [Prepare]}",
           "    2: {urgency: Expected, certainty: Likely}", "cap.levels.2.severity", "missing key 'severity'",
           "    2: {urgency: Expected, certainty: Likely}"),
    Broken("level-missing", "    4: {urgency: Future, severity: Minor, certainty: Possible, response: [Monitor]}\n",
           "", "cap.levels", "level 4 has no CAP mapping", "  levels:   # CAP urgency"),
    Broken("bad-severity", "severity: Extreme,", "severity: Awful,", "cap.levels.1.severity",
           "Input should be 'Extreme', 'Severe', 'Moderate', 'Minor' or 'Unknown'", "    1: {urgency: Immediate"),
    Broken("area-without-geometry", AREA_GEOMETRY, "", "cap.area", "the affected area has no geometry",
           "  area:   # the affected area"),
    Broken("zone-without-geometry", SCHOOLS_GEOMETRY, "", "evacuation_zones.2",
           "evacuation zone 'schools' has no geometry", "  - id: schools"),
    Broken("empty-geometry", SCHOOLS_GEOMETRY, "    geometry: {}\n", "evacuation_zones.2.geometry",
           "give a polygon, a circle or codes", "    geometry: {}"),
    Broken("polygon-two-corners", "      polygon: [[29.9588, 108.1296], [29.9581, 108.1338], [29.9552, 108.1334], "
           "[29.9559, 108.1291]]", "      polygon: [[29.9588, 108.1296], [29.9581, 108.1338]]",
           "evacuation_zones.0.geometry.polygon", "a polygon needs at least 3 distinct corners (found 2)",
           "      polygon: [[29.9588, 108.1296], [29.9581, 108.1338]]"),
    Broken("polygon-swapped", "[[29.9588, 108.1296], [29.9581, 108.1338], [29.9552, 108.1334]",
           "[[108.1296, 29.9588], [29.9581, 108.1338], [29.9552, 108.1334]", "evacuation_zones.0.geometry.polygon.0",
           "latitude 108.1296 is outside -90..90 (latitude first: write [lat, lon])", "[[108.1296, 29.9588]"),
    Broken("circle-radius", "radius_km: 0.4", "radius_km: 0", "evacuation_zones.2.geometry.circle.radius_km",
           "greater than 0", "      circle: {centre"),
    Broken("sender-with-space", "  sender: flood-office@sanjian.example", "  sender: flood office@sanjian.example",
           "cap.sender", "should match pattern", "  sender: flood office"),
    Broken("unknown-hazard", "    drought:\n      category: [Met, Env]", "    drougth:\n      category: [Met, Env]",
           "cap.hazards.drougth", "unknown hazard 'drougth'", "    drougth:"),
    Broken("unknown-placeholder", '"{drill}{area}: {hazard} warning lifted"',
           '"{drill}{area}: {hazrd} warning lifted"', "cap.templates.headline.ended.en",
           "unknown placeholder(s) {hazrd}", '      ended: {zh: "{drill}{area}{hazard}预警解除"'),
    Broken("missing-language", ', en: "{drill}The {hazard} emergency is over: {reason}."}', "}",
           "cap.templates.description.ended", "no text in language 'en'",
           '      ended: {zh: "{drill}{hazard}应急结束'),
    Broken("headline-missing-kind", '      downgraded: {zh: "{drill}{area}{hazard}预警降为{colour}（{level}级）"',
           '      lowered: {zh: "{drill}{area}{hazard}预警降为{colour}（{level}级）"', "cap.templates.headline.lowered",
           "Input should be 'raised', 'upgraded', 'downgraded' or 'ended'", "      lowered: "),
    Broken("headline-kind-missing", '      downgraded: {zh: "{drill}{area}{hazard}预警降为{colour}（{level}级）", '
           'en: "{drill}{area}: {hazard} warning lowered to {colour} (level {level})"}\n', "",
           "cap.templates.headline", "no headline for 'downgraded'", "    headline:"),
    Broken("expires-too-long", "  expires: 24h ", "  expires: 30d ", "cap.expires", "between 10m and 7d",
           "  expires: 30d"),
    Broken("station-location", "    location: [29.9563, 108.1331]", "    location: [29.9563]",
           "stations.0.location", "a point is [latitude, longitude]", "    location: [29.9563]"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_cap_config_is_a_located_error(cap_cli: Cli, tmp_path: Path, case: Broken) -> None:
    root = tmp_path / "ws"
    plan = copied_sample(REPO, root)
    plan.write_text(replaced_once(plan.read_text(encoding="utf-8"), case.old, case.new, "sample"), encoding="utf-8")
    line = line_with(plan, case.line_of)
    result = cap_cli("--roster", str(root / "contacts" / "roster.csv"), "plan", "check", plan=plan)
    assert result.exit_code == 2, result.output
    assert located(result.output, plan, line, case.field, case.message), \
        "\n".join(ln for ln in result.output.splitlines() if ": error: " in ln)
    assert "Traceback" not in result.output
