"""The snapshots a cycle makes by the thousand: they keep what they are given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from responder.domain.derived import Latest, StationSnapshot, compose_snapshot
from responder.domain.stations import Station

NOW = datetime(2027, 7, 1, 1, 37, 20, tzinfo=UTC)
H = timedelta(hours=1)


def test_a_snapshot_keeps_what_it_is_given_and_leaves_out_what_the_station_does_not_measure() -> None:
    gauge = Station(id="rain", name={"en": "g"}, kind="rain", interval="5m")
    totals = {H: 1.0, 24 * H: 3.0}
    rain = Latest(NOW - 20 * H, 0.5)
    snap = compose_snapshot(gauge, NOW, {"rain_mm": rain}, totals, {}, 2)
    assert snap.totals is totals and snap.latest == {"rain_mm": rain} and snap.stale
    # A stage reading left over from before the plan changed: not the station's, and no sign of life.
    mixed = {"stage_m": Latest(NOW, 4.0), "rain_mm": rain}
    kept = compose_snapshot(gauge, NOW, mixed, totals, {}, 2)
    assert kept.latest == {"rain_mm": rain} and mixed == {"stage_m": Latest(NOW, 4.0), "rain_mm": rain}
    assert kept.last_time == rain.time and kept.stale and kept.margin is None
    assert kept == StationSnapshot("rain", "rain", "rain_mm", {"rain_mm": rain}, totals, {}, None, None, 2, None,
                                   True)
