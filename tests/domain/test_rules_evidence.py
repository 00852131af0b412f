"""The evidence of the outcomes given at every station is built when first read: it must read exactly as a
plain dict built at once would (same keys in the same order, same values), compare equal to one, and
serialise once copied."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter

from responder.domain.derived import Latest, StationSnapshot
from responder.domain.rules import Rule, decide, evaluate

NOW = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)
RULES = TypeAdapter(list[Rule]).validate_python([
    {"id": "rain-24h", "kind": "rain_total", "window": "24h", "thresholds": {2: 200, 3: 100, 4: 50}},
    {"id": "river-warning", "kind": "water_level", "within": {3: 0.5, 4: 1.0}},
    {"id": "river-rising", "kind": "rate_of_rise", "limit": 0.3},
    {"id": "dry-days", "kind": "drought_dry_days", "thresholds": {4: 16, 3: 26, 2: 36}},
])
SNAPSHOTS = {
    "rain-1": StationSnapshot("rain-1", "rain", "rain_mm", {"rain_mm": Latest(NOW, 1.0)}, {24 * H: 212.444},
                              dry_days=17, stale=False),
    "rain-2": StationSnapshot("rain-2", "rain", "rain_mm", {"rain_mm": Latest(NOW - 3 * H, 0.0)}, {24 * H: 0.0},
                              dry_days=30, stale=True),
    "river-1": StationSnapshot("river-1", "river", "stage_m", {"stage_m": Latest(NOW, 4.2)}, rates={H: 0.456},
                               margin=0.3, guaranteed_margin=1.0, stale=False),
}


def evidence(rule: str, station: str) -> dict[str, object]:
    outcome = next(o for o in evaluate(RULES, SNAPSHOTS, [], NOW) if (o.rule, o.station) == (rule, station))
    return dict(outcome.evidence)


def test_station_evidence_reads_as_it_always_did() -> None:
    common = {"mode": "propose", "time": NOW.isoformat()}
    assert list(evidence("rain-24h", "rain-1").items()) == list({
        "rule": "rain-24h", "kind": "rain_total", "hazard": "flood", "level": 2, "mode": "propose",
        "station": "rain-1", "quantity": "rain_mm", "value": 212.444, "threshold": 200, "time": common["time"],
        "summary": "rain-1: 212.4 mm in 1d >= 200 mm", "window": "1d"}.items())
    assert evidence("river-warning", "river-1") == {
        "rule": "river-warning", "kind": "water_level", "hazard": "flood", "level": 3, **common,
        "station": "river-1", "quantity": "stage_m", "value": 4.2, "threshold": 4.0,
        "summary": "river-1: stage 4.20 m, warning level 4.50 m (margin +0.30 m)", "warning_level": 4.5,
        "margin": 0.3}
    assert evidence("river-rising", "river-1") == {
        "rule": "river-rising", "kind": "rate_of_rise", "hazard": "flood", "level": 2, **common,
        "station": "river-1", "quantity": "stage_m", "value": 0.456, "threshold": 0.3,
        "summary": "river-1: rising +0.46 m/h over 1h (limit 0.3 m/h)", "lookback": "1h", "raised_from": 3,
        "unit": "m/h"}
    assert evidence("dry-days", "rain-2") == {
        "rule": "dry-days", "kind": "drought_dry_days", "hazard": "drought", "level": 3, **common,
        "time": (NOW - 3 * H).isoformat(), "station": "rain-2", "quantity": "dry_days", "value": 30,
        "threshold": 26, "summary": "rain-2: 30 dry days (< 1 mm a day)", "stale": True}
    assert evidence("rain-24h", "rain-2") == {
        "rule": "rain-24h", "kind": "rain_total", "hazard": "flood", "level": None, **common,
        "time": (NOW - 3 * H).isoformat(), "station": "rain-2", "quantity": "rain_mm", "value": 0.0,
        "threshold": None, "summary": f"rain-2: stale (last report {(NOW - 3 * H).isoformat()})", "stale": True}


def test_lazy_evidence_behaves_as_a_mapping() -> None:
    first, again = evaluate(RULES, SNAPSHOTS, [], NOW), evaluate(RULES, SNAPSHOTS, [], NOW)
    assert first == again
    for outcome in first:
        plain = dict(outcome.evidence)
        assert outcome.evidence == plain and plain == outcome.evidence and outcome.evidence != {}
        assert list(outcome.evidence) == list(plain) and len(outcome.evidence) == len(plain)
        assert outcome.evidence.get("station") == outcome.station and "summary" in outcome.evidence
        assert repr(outcome.evidence) == repr(plain)
        assert json.loads(json.dumps(plain)) == plain
    drought, flood = decide(first, {}, {}, NOW).decisions  # hazards in name order
    assert dict(flood.evidence) == evidence("rain-24h", "rain-1")
    assert dict(drought.evidence) == evidence("dry-days", "rain-2")
