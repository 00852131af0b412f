"""The report's arithmetic and snapshot reading on plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from responder.reports import fmt, gaps
from responder.reports.figures import level_at, level_changes, level_spans, median, percentile
from responder.reports.snapshot import SnapshotView

T0 = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def test_median_and_nearest_rank_percentile() -> None:
    values = [S * v for v in (60, 60, 90, 120, 720)]
    assert median(values) == S * 90
    assert median([S * 60, S * 90]) == S * 75
    assert percentile(values, 0.9) == S * 720  # rank ceil(4.5) = 5
    assert percentile([S * v for v in range(1, 11)], 0.9) == S * 9
    assert percentile([S * 5], 0.9) == S * 5
    assert median([]) is None and percentile([], 0.9) is None


def test_level_history_from_audit_events() -> None:
    events = [
        (T0, "raised", "duty", "river up", {"level": 3}),
        (T0 + timedelta(minutes=5), "confirmed", "x", None, {}),
        (T0 + timedelta(minutes=20), "upgraded", "duty", "over the line", {"from": 3, "to": 2}),
        (T0 + timedelta(minutes=50), "downgraded", "duty", "falling", {"from": 2, "to": 4}),
        (T0 + timedelta(minutes=90), "ended", "duty", "over", {"level": 4}),
    ]
    changes = level_changes(7, events)
    assert [(c.kind, c.from_level, c.to_level) for c in changes] == [
        ("raised", None, 3), ("upgraded", 3, 2), ("downgraded", 2, 4), ("ended", 4, None)]
    spans = level_spans(changes, T0 + timedelta(hours=5), {3: "yellow", 2: "orange", 4: "blue"}.__getitem__)
    assert [(s.level, s.colour, s.end - s.start) for s in spans] == [
        (3, "yellow", timedelta(minutes=20)), (2, "orange", timedelta(minutes=30)), (4, "blue", timedelta(minutes=40))]
    assert level_at(changes, T0 + timedelta(minutes=30)) == 2
    assert level_at(changes, T0 - S) is None
    open_spans = level_spans(changes[:2], T0 + timedelta(hours=1), lambda n: "c")
    assert open_spans[-1].end == T0 + timedelta(hours=1)


def test_missing_heads() -> None:
    roster = {"a": {"rescue": "leader"}, "b": {"rescue": "member", "medical": "deputy"}, "c": {"medical": "member"}}
    found = gaps.missing_heads(1, ["rescue", "medical"], roster, str.upper)
    assert [(g.kind, g.subject) for g in found] == [("no_deputy", "rescue"), ("no_leader", "medical")]
    assert "RESCUE (rescue) has no deputy" in found[0].detail


def test_double_calls_overlap_only() -> None:
    calls = [
        gaps.Call(1, "E2", "p", "P", T0, T0 + timedelta(hours=1)),
        gaps.Call(2, "F3", "p", "P", T0 + timedelta(minutes=30), T0 + timedelta(hours=2)),
        gaps.Call(3, "G4", "p", "P", T0 + timedelta(hours=3), T0 + timedelta(hours=4)),  # after both ended
        gaps.Call(1, "E2", "q", "Q", T0, T0 + timedelta(hours=1)),
    ]
    found = gaps.double_calls(calls, [1])
    assert [(g.subject, g.incident_id) for g in found] == [("p", 1)]
    assert "#1 (E2) and #2 (F3)" in found[0].detail
    assert gaps.double_calls(calls, [3]) == []  # neither side of the overlap is in the report


def test_snapshot_is_read_defensively() -> None:
    empty = SnapshotView(None)
    assert (empty.timezone, empty.default_language, empty.group_name("rescue", "zh")) == ("UTC", "en", "rescue")
    assert empty.confirm_within(2) is None and empty.headcount("rescue") is None and empty.stations() == []
    assert empty.level_colour(1) == "red"
    odd = SnapshotView({
        "languages": ["zh", "en"],
        "area": {"id": "x", "name": {"en": "X town"}, "timezone": "Asia/Shanghai"},
        "groups": [{"id": "rescue", "name": {"zh": "抢险组", "en": "rescue group"}}, "not a dict"],
        "escalation_policy": [{"level": 2, "confirm_within": "10m"}, {"level": 3, "confirm_within": "soon"}],
        "resources": {"teams": [{"group": "rescue", "headcount": 12}, {"group": "rescue", "headcount": "3"}]},
        "stations": [{"id": "s1"}, {"name": "no id"}],
    })
    assert odd.group_name("rescue", "en") == "rescue group" and odd.group_name("rescue", "fr") == "抢险组"
    assert odd.area_name("zh") == "X town"
    assert odd.confirm_within(2) == timedelta(minutes=10) and odd.confirm_within(3) is None
    assert odd.headcount("rescue") == 15
    assert [s["id"] for s in odd.stations()] == ["s1"]


@pytest.mark.parametrize(("value", "text"), [
    (timedelta(seconds=90), "1m30s"), (timedelta(seconds=59.6), "1m"), (timedelta(hours=1), "1h"),
    (None, fmt.NEVER), (timedelta(0), "0s"),
])
def test_durations(value: timedelta | None, text: str) -> None:
    assert fmt.duration(value) == text


def test_times_are_local() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    assert fmt.when(T0, zone) == "2027-07-01 09:00:00"
    assert fmt.zone_label(zone, T0) == "Asia/Shanghai (UTC+08:00)"
    assert fmt.offset(timedelta(minutes=40)) == "T+40m"
    assert fmt.rate(48 / 63) == "76.2%" and fmt.rate(None) == fmt.NONE
