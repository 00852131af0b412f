"""A cycle judges every station but makes one outcome object per hazard, the one that wins: the short form
(``reached_levels``, ``decide_evaluated``) must decide exactly what the full ``evaluate`` and ``decide`` do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from responder.domain.derived import Latest, StationSnapshot
from responder.domain.rules import (
    HazardState,
    ManualReport,
    Rule,
    decide,
    decide_evaluated,
    evaluate,
    reached_levels,
    summarise,
)

NOW = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)
RULES = TypeAdapter(list[Rule]).validate_python([
    {"id": "rain-24h", "kind": "rain_total", "window": "24h", "thresholds": {2: 200, 3: 100, 4: 50}},
    {"id": "storm-1h", "kind": "rain_total", "window": "1h", "thresholds": {3: 40}, "mode": "auto",
     "step_down_hold": "2h"},
    {"id": "river-rising", "kind": "rate_of_rise", "limit": 0.3},
    {"id": "river-warning", "kind": "water_level", "within": {3: 0.5, 4: 1.0}, "at_guaranteed": 1},
    {"id": "named-river", "kind": "water_level", "stations": ["r1", "gone"], "step_down_needs_confirmation": False},
    {"id": "dam-break", "kind": "dam_break", "mode": "auto"},
    {"id": "dry-days", "kind": "drought_dry_days", "thresholds": {4: 16, 3: 26, 2: 36}},
    {"id": "pond", "kind": "reservoir_storage", "below": {4: 0.5, 3: 0.3, 2: 0.1}},
    {"id": "water", "kind": "drinking_water", "thresholds": {4: 50, 3: 200, 2: 500, 1: 1000}},
])

maybe = st.one_of(st.none(), st.floats(0, 400, allow_nan=False))


@st.composite
def snapshot(draw: st.DrawFn, sid: str) -> StationSnapshot:
    kind = draw(st.sampled_from(["rain", "river", "reservoir"]))
    stale = draw(st.booleans())
    if kind == "rain":
        totals = {w: v for w, v in ((H, draw(maybe)), (24 * H, draw(maybe))) if v is not None}
        return StationSnapshot(sid, "rain", "rain_mm", {"rain_mm": Latest(NOW, 1.0)}, totals,
                               dry_days=draw(st.one_of(st.none(), st.integers(0, 50))), stale=stale)
    stage = draw(st.floats(2.0, 6.0))
    latest = {"stage_m": Latest(NOW, stage)}
    if draw(st.booleans()):
        latest["dam_break"] = Latest(NOW - H, draw(st.sampled_from([0.0, 1.0])))
    warning = draw(st.one_of(st.none(), st.just(4.5)))
    return StationSnapshot(sid, kind, "stage_m", latest, rates={H: draw(st.one_of(st.none(), st.floats(-1, 1)))},
                           margin=None if warning is None else warning - stage, guaranteed_margin=5.2 - stage,
                           storage_pct=draw(st.one_of(st.none(), st.floats(0, 100))) if kind == "reservoir" else None,
                           stale=stale)


reports = st.lists(st.builds(ManualReport, kind=st.sampled_from(["dam_break", "drinking_water"]),
                             time=st.sampled_from([NOW - 30 * H, NOW - H, NOW]),
                             value=st.sampled_from([0.0, 1.0, 120.0, 700.0]), place=st.sampled_from(["a", "b"])),
                   max_size=4)
state = st.builds(HazardState, fired=st.dictionaries(st.integers(1, 4), st.sampled_from([NOW - 9 * H, NOW - H])),
                  seen=st.dictionaries(st.integers(1, 4), st.sampled_from([NOW - 9 * H, NOW - H])),
                  since=st.sampled_from([None, NOW - 12 * H]), current=st.sampled_from([None, 2, 3]),
                  rule_level=st.sampled_from([None, 2, 3]), proposed_down=st.sampled_from([None, (3, 4), (2, None)]),
                  last_rule=st.sampled_from([None, "rain-24h"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["r1", "r2", "r3", "r4", "r5"]), unique=True).flatmap(
           lambda ids: st.tuples(*[snapshot(i) for i in ids])),
       reports, st.sampled_from([0, 3, 6, 9]), st.dictionaries(st.sampled_from(["flood", "drought"]),
                                                              st.sampled_from([None, 1, 2, 3, 4])),
       st.dictionaries(st.sampled_from(["flood", "drought"]), state))
def test_the_short_form_decides_what_the_full_one_does(snaps: tuple[StationSnapshot, ...],
                                                       given_reports: list[ManualReport], rules_from: int,
                                                       current: dict[str, int | None],
                                                       states: dict[str, HazardState]) -> None:
    rules = RULES[rules_from:]
    by_id = {s.station: s for s in snaps}
    full = evaluate(rules, by_id, given_reports, NOW)
    short = reached_levels(rules, by_id, given_reports, NOW)
    reached = [o for o in full if o.level is not None]
    assert short == summarise(full)
    for hazard, winner in short.winners.items():
        best = min(o.level for o in reached if o.hazard == hazard)
        assert winner in reached and winner.level == best
    assert decide_evaluated(short, current, states, NOW) == decide(full, current, states, NOW)


def test_a_quiet_cycle_makes_no_outcome_objects_but_still_knows_its_hazards() -> None:
    quiet = {f"g{i}": StationSnapshot(f"g{i}", "rain", "rain_mm", {"rain_mm": Latest(NOW, 0.0)}, {24 * H: 1.0},
                                      dry_days=0, stale=False) for i in range(50)}
    short = reached_levels(RULES, quiet, [], NOW)
    assert short.winners == {}
    assert sorted(short.hazards) == ["drought", "flood"]
    assert short.hazards["flood"].hold == timedelta(hours=6) and short.hazards["flood"].first == "rain-24h"
    assert short.hazards["flood"].confirm


def test_on_a_tie_the_short_form_also_lets_the_auto_rule_win() -> None:
    gauge = StationSnapshot("r1", "rain", "rain_mm", {"rain_mm": Latest(NOW, 1.0)}, {H: 50.0, 24 * H: 150.0},
                            dry_days=0, stale=False)
    full = evaluate(RULES, {"r1": gauge}, [], NOW)
    assert sorted((o.rule, o.level) for o in full if o.level) == [("rain-24h", 3), ("storm-1h", 3)]
    short = reached_levels(RULES, {"r1": gauge}, [], NOW)
    assert short.winners["flood"].rule == "storm-1h" and short == summarise(full)


def test_values_exactly_at_a_threshold_give_the_level_in_short_as_in_full() -> None:
    """The short form lets a station through by a comparison with the least severe threshold: at exactly that
    threshold it must still be judged (a margin of exactly 0.5 m, exactly 50 mm, exactly 16 dry days)."""
    at = {
        "r1": StationSnapshot("r1", "river", "stage_m", {"stage_m": Latest(NOW, 4.0)}, rates={H: 0.3},
                              margin=0.5, guaranteed_margin=1.2, stale=False),
        "r2": StationSnapshot("r2", "river", "stage_m", {"stage_m": Latest(NOW, 4.5)}, rates={H: 0.31},
                              margin=0.0, guaranteed_margin=0.7, stale=False),
        "g1": StationSnapshot("g1", "rain", "rain_mm", {"rain_mm": Latest(NOW, 1.0)}, {H: 40.0, 24 * H: 50.0},
                              dry_days=16, stale=False),
        "p1": StationSnapshot("p1", "reservoir", "stage_m", {"storage_pct": Latest(NOW, 50.0)}, storage_pct=50.0,
                              stale=False),
    }
    for rules in [RULES, *([rule] for rule in RULES)]:  # one rule at a time too: each one's own winner compared
        assert reached_levels(rules, at, [], NOW) == summarise(evaluate(rules, at, [], NOW)), rules[0].id
    levels = {(o.rule, o.station): o.level for o in evaluate(RULES, at, [], NOW) if o.level is not None}
    assert levels[("river-warning", "r1")] == 3 and levels[("river-warning", "r2")] == 2
    assert levels[("rain-24h", "g1")] == 4 and levels[("storm-1h", "g1")] == 3 and levels[("dry-days", "g1")] == 4
