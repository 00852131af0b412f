"""The objects a cycle makes by the thousand: built quickly, and the same as the plain way to build them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from responder.domain.derived import Latest, StationSnapshot, compose_snapshot, slot_filler
from responder.domain.rules import RuleOutcome
from responder.domain.stations import Station

NOW = datetime(2027, 7, 1, 1, 37, 20, tzinfo=UTC)
H = timedelta(hours=1)


def test_slot_filler_makes_the_same_frozen_object_as_the_dataclass() -> None:
    plain = RuleOutcome("rain-24h", "rain_total", "flood", 3, "propose", "rain-1", {"value": 120.0}, 6 * H, True)
    quick = slot_filler(RuleOutcome)(*[getattr(plain, f.name) for f in dataclasses.fields(plain)])
    assert type(quick) is RuleOutcome and quick == plain and repr(quick) == repr(plain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.level = 2  # type: ignore[misc]
    latest = slot_filler(Latest)(NOW, 1.5)
    assert latest == Latest(NOW, 1.5) and hash(latest) == hash(Latest(NOW, 1.5))
    with pytest.raises(TypeError):
        slot_filler(Latest)(NOW)  # no defaults: every field is given

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            assert self.value >= 0

    with pytest.raises(TypeError, match="__post_init__"):
        slot_filler(Checked)  # its check would be skipped


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
