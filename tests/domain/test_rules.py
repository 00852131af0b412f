"""Rules: the level each gives, the most severe winning, and hysteresis on the way down (pure, time passed in)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from responder.domain.derived import Latest, StationSnapshot
from responder.domain.rules import (
    AnyRule,
    DamBreakRule,
    DrinkingWaterRule,
    DryDaysRule,
    HazardState,
    ManualReport,
    RainTotalRule,
    RateOfRiseRule,
    ReservoirStorageRule,
    Rule,
    RuleDecision,
    RuleOutcome,
    WaterLevelRule,
    decide,
    evaluate,
    snapshot_spec,
)

NOW = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)
RULES = TypeAdapter(list[Rule]).validate_python([
    {"id": "rain-24h", "kind": "rain_total", "window": "24h", "thresholds": {2: 200, 3: 100, 4: 50}},
    {"id": "river-warning", "kind": "water_level", "stations": ["longhe-town"], "within": {3: 0.5, 4: 1.0},
     "at_guaranteed": 1},
    {"id": "river-rising", "kind": "rate_of_rise", "stations": ["longhe-town"], "limit": 0.3},
    {"id": "dam-break", "kind": "dam_break", "mode": "auto"},
    {"id": "dry-days", "kind": "drought_dry_days", "thresholds": {4: 16, 3: 26, 2: 36}},
    {"id": "pond", "kind": "reservoir_storage", "below": {4: 0.5, 3: 0.3, 2: 0.1}},
    {"id": "water", "kind": "drinking_water", "thresholds": {4: 50, 3: 200, 2: 500, 1: 1000}},
])


def rain(total_24h: float, station: str = "rain-1", stale: bool = False, dry_days: int | None = 0) -> StationSnapshot:
    return StationSnapshot(station, "rain", "rain_mm", {"rain_mm": Latest(NOW, 1.0)}, {24 * H: total_24h},
                           dry_days=dry_days, stale=stale)


def river(stage: float, rate: float | None = 0.0, warning: float = 4.5, guaranteed: float = 5.2,
          flag: float | None = None, stale: bool = False) -> StationSnapshot:
    latest = {"stage_m": Latest(NOW, stage)}
    if flag is not None:
        latest["dam_break"] = Latest(NOW - H, flag)
    return StationSnapshot("longhe-town", "river", "stage_m", latest, rates={H: rate}, margin=warning - stage,
                           guaranteed_margin=guaranteed - stage, stale=stale)


def levels(outcomes: Sequence[RuleOutcome]) -> dict[tuple[str, str | None], int | None]:
    return {(o.rule, o.station): o.level for o in outcomes}


def run(*snapshots: StationSnapshot, reports: Sequence[ManualReport] = (), rules: Sequence[AnyRule] = RULES,
        ) -> dict[tuple[str, str | None], int | None]:
    return levels(evaluate(rules, {s.station: s for s in snapshots}, reports, NOW))


@pytest.mark.parametrize(("total", "level"), [(0, None), (49.9, None), (50, 4), (120, 3), (199.9, 3), (200, 2),
                                              (480, 2)])
def test_rain_over_the_window_reaches_the_plan_levels(total: float, level: int | None) -> None:
    assert run(rain(total))[("rain-24h", "rain-1")] == level


def test_rain_evidence_is_ready_for_an_sms_and_the_audit() -> None:
    outcome = next(o for o in evaluate(RULES, {"rain-1": rain(212.44)}, [], NOW) if o.rule == "rain-24h")
    assert outcome.evidence["value"] == 212.44 and outcome.evidence["threshold"] == 200
    assert outcome.evidence["window"] == "1d" and outcome.evidence["station"] == "rain-1"
    assert outcome.evidence["time"] == NOW.isoformat() and outcome.evidence["mode"] == "propose"
    assert "212.4 mm in 1d >= 200 mm" in outcome.evidence["summary"]


@pytest.mark.parametrize(("stage", "level"), [(3.0, None), (3.5, 4), (3.9, 4), (4.0, 3), (4.49, 3), (4.5, 2),
                                              (5.0, 2), (5.2, 1)])
def test_water_level_against_the_warning_and_guaranteed_levels(stage: float, level: int | None) -> None:
    assert run(river(stage))[("river-warning", "longhe-town")] == level


@pytest.mark.parametrize(("stage", "rate", "level"), [
    (3.0, 0.5, 4),      # rising fast with nothing else: level 4 on its own
    (4.1, 0.5, 2),      # within the margin (3) and rising fast: one level up
    (4.6, 0.5, 2),      # already at 2: raising stops at the ceiling, level 1 is for a dam break
    (4.1, 0.3, None),   # not faster than the limit
    (4.1, None, None),  # too few reports for a rate
])
def test_a_fast_rise_raises_the_stations_level_by_one(stage: float, rate: float | None, level: int | None) -> None:
    assert run(river(stage, rate))[("river-rising", "longhe-town")] == level


def test_stale_or_missing_stations_give_no_level_but_say_why() -> None:
    outcomes = evaluate(RULES, {"longhe-town": river(6.0, stale=True), "rain-1": rain(300, stale=True)}, [], NOW)
    assert levels(outcomes)[("river-warning", "longhe-town")] is None
    assert levels(outcomes)[("rain-24h", "rain-1")] is None
    assert all(o.evidence.get("stale") for o in outcomes if o.rule in ("river-warning", "rain-24h"))
    missing = levels(evaluate(RULES, {}, [], NOW))
    assert missing[("river-warning", "longhe-town")] is None


def test_a_dam_break_flag_or_report_gives_level_1() -> None:
    assert run(river(3.0, flag=1))[("dam-break", "longhe-town")] == 1
    assert run(river(3.0, flag=0))[("dam-break", "longhe-town")] is None
    report = ManualReport("dam_break", NOW - 2 * H, place="Yuquanzi dam", by="O003", note="seen by villagers")
    outcome = next(o for o in evaluate(RULES, {}, [report], NOW) if o.rule == "dam-break")
    assert outcome.level == 1 and outcome.mode == "auto" and outcome.evidence["reported_by"] == "O003"
    cleared = [report, ManualReport("dam_break", NOW - H, value=0, place="Yuquanzi dam", by="O001")]
    assert run(reports=cleared)[("dam-break", None)] is None
    old = ManualReport("dam_break", NOW - 25 * H, place="Yuquanzi dam", by="O003")
    assert run(reports=[old])[("dam-break", None)] is None


def test_drought_rules() -> None:
    assert run(rain(0, dry_days=30))[("dry-days", "rain-1")] == 3
    assert run(rain(0, dry_days=30, stale=True))[("dry-days", "rain-1")] == 3  # a rain-only gauge is silent when dry
    assert run(rain(0, dry_days=None))[("dry-days", "rain-1")] is None
    pond = StationSnapshot("pond", "reservoir", "stage_m", {"storage_pct": Latest(NOW, 25.0)}, storage_pct=25.0,
                           stale=False)
    assert run(pond)[("pond", "pond")] == 3
    reports = [ManualReport("drinking_water", NOW - 3 * H, 120, "Liaojiaba", "V201"),
               ManualReport("drinking_water", NOW - 2 * H, 150, "Liaojiaba", "V201"),   # supersedes 120
               ManualReport("drinking_water", NOW - H, 80, "Caisenba", "V301"),
               ManualReport("drinking_water", NOW - 8 * 24 * H, 900, "Yuquanzi", "V101")]  # too old
    outcome = next(o for o in evaluate(RULES, {}, reports, NOW) if o.rule == "water")
    assert outcome.level == 3 and outcome.evidence["value"] == 230
    assert outcome.hazard == "drought" and outcome.evidence["places"] == {"Liaojiaba": 150, "Caisenba": 80}


@pytest.mark.parametrize("rule", [
    {"id": "r", "kind": "rain_total", "thresholds": {2: 100, 3: 200}},
    {"id": "r", "kind": "rain_total", "thresholds": {}},
    {"id": "r", "kind": "water_level", "at_warning": 2, "within": {2: 0.5}},
    {"id": "r", "kind": "water_level", "at_warning": 2, "at_guaranteed": 3},
    {"id": "r", "kind": "reservoir_storage", "below": {3: 0.1, 2: 0.3}},
    {"id": "r", "kind": "reservoir_storage", "below": {3: 1.5}},
    {"id": "r", "kind": "drought_dry_days", "thresholds": {4: 30, 3: 20}},
    {"id": "r", "kind": "rate_of_rise", "limit": 0},
    {"id": "r", "kind": "rain_total", "thresholds": {2: 200}, "mode": "maybe"},
    {"id": "r", "kind": "flood_gauge", "thresholds": {2: 200}},
    {"id": "r", "kind": "drinking_water", "thresholds": {4: 10}, "stations": ["x"]},
])
def test_inconsistent_rules_are_refused(rule: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Rule).validate_python(rule)


def test_snapshot_spec_covers_what_the_rules_need() -> None:
    rules = [RainTotalRule(id="r12", window="12h", thresholds={3: 80}), RateOfRiseRule(id="fast", limit=0.2,
             lookback="30m"), DryDaysRule(id="d", thresholds={4: 70}, dry_below_mm=0.5)]
    spec = snapshot_spec(rules, UTC)
    assert spec.windows == (H, 3 * H, 6 * H, 12 * H, 24 * H)
    assert spec.lookbacks == (H, timedelta(minutes=30))
    assert spec.dry_below_mm == 0.5 and spec.dry_horizon_days == 71


# --- decide -------------------------------------------------------------------------------------------------

def outcome(level: int | None, rule: str = "rain-24h", mode: str = "propose", hold: timedelta = 6 * H,
            confirm: bool = True, hazard: str = "flood") -> RuleOutcome:
    return RuleOutcome(rule, "rain_total", hazard, level, mode, "rain-1",  # type: ignore[arg-type]
                       {"rule": rule, "level": level}, hold, confirm)


class Cycle:
    """Runs decide cycle after cycle, keeping its state (through JSON, as the database does)."""

    def __init__(self) -> None:
        self.state: dict[str, HazardState] = {}
        self.now = NOW

    def __call__(self, outcomes: Sequence[RuleOutcome], current: Mapping[str, int | None],
                 step: timedelta = timedelta(minutes=10)) -> list[RuleDecision]:
        self.now += step
        decided = decide(outcomes, current, self.state, self.now)
        self.state = {h: HazardState.from_json(s.to_json()) for h, s in decided.state.items()}
        return decided.decisions


def test_a_level_is_proposed_once_and_then_waits_for_the_duty_officer() -> None:
    cycle = Cycle()
    [first] = cycle([outcome(2)], {})
    assert (first.action, first.level, first.mode, first.current, first.rule) == ("raise", 2, "propose", None,
                                                                                    "rain-24h")
    assert first.evidence == {"rule": "rain-24h", "level": 2}
    assert cycle([outcome(2)], {}) == []                       # pending: not proposed again
    assert cycle([outcome(3)], {}) == []                       # weaker: no new proposal
    assert cycle([outcome(2)], {"flood": 2}) == []             # confirmed
    [upgrade] = cycle([outcome(1, rule="dam-break", mode="auto")], {"flood": 2})
    assert (upgrade.action, upgrade.level, upgrade.mode, upgrade.current) == ("upgrade", 1, "auto", 2)


def test_the_most_severe_level_wins_and_an_auto_rule_wins_a_tie() -> None:
    [decision] = Cycle()([outcome(3), outcome(2, rule="river", mode="propose"), outcome(2, rule="flag", mode="auto"),
                          outcome(None, rule="other")], {})
    assert (decision.level, decision.rule, decision.mode) == (2, "flag", "auto")
    both = Cycle()([outcome(2), outcome(4, rule="dry", hazard="drought")], {"flood": 3})
    assert [(d.hazard, d.action, d.level) for d in both] == [("drought", "raise", 4), ("flood", "upgrade", 2)]


def test_stepping_down_waits_for_the_hold_and_then_asks_once() -> None:
    cycle = Cycle()
    cycle([outcome(2)], {})
    assert cycle([outcome(2)], {"flood": 2}) == []
    quiet_from = cycle.now
    for _ in range(35):                                         # 5 h 50 min below: still held
        assert cycle([outcome(3)], {"flood": 2}) == []
    [down] = cycle([outcome(3)], {"flood": 2})
    assert cycle.now - quiet_from >= 6 * H
    assert (down.action, down.level, down.current, down.mode) == ("downgrade", 3, 2, "propose")
    assert down.evidence["hold"] == "6h"
    assert cycle([outcome(3)], {"flood": 2}) == []              # asked once; the officer may say no
    assert cycle([outcome(2)], {"flood": 2}) == []              # back at 2: the hold starts again
    for _ in range(35):
        assert cycle([outcome(None)], {"flood": 2}) == []
    [end] = cycle([outcome(None)], {"flood": 2})
    assert (end.action, end.level) == ("end", None)


def test_auto_step_down_only_from_a_level_the_rules_set() -> None:
    cycle = Cycle()
    cycle([outcome(2, mode="auto", confirm=False)], {})
    cycle([outcome(2, mode="auto", confirm=False)], {"flood": 2})
    decisions = [d for _ in range(40) for d in cycle([outcome(4, mode="auto", confirm=False)], {"flood": 2})]
    assert [(d.action, d.level, d.mode) for d in decisions] == [("downgrade", 4, "auto")]
    person = Cycle()                                             # a person raised level 1: a person decides
    decisions = [d for _ in range(40) for d in person([outcome(4, mode="auto", confirm=False)], {"flood": 1})]
    assert [(d.action, d.level, d.mode) for d in decisions] == [("downgrade", 4, "propose")]


def test_hazards_without_rules_are_left_alone() -> None:
    decided = decide([outcome(None)], {"flood": 2, "drought": 3}, {}, NOW)
    assert decided.decisions == [] and set(decided.state) == {"flood"}


# Hysteresis properties: random rule levels cycle after cycle, a simulated duty officer who confirms or not,
# and people who sometimes change the level by hand.

HOLD = timedelta(minutes=30)
STEP = timedelta(minutes=10)
levels_seq = st.lists(st.sampled_from([None, None, 1, 2, 3, 4]), min_size=1, max_size=80)


@settings(max_examples=300, deadline=None)
@given(levels_seq, st.lists(st.booleans(), min_size=80, max_size=80),
       st.lists(st.sampled_from([None, None, None, None, None, None, 1, 2, 3, 4, 0]), min_size=80, max_size=80),
       st.booleans(), st.sampled_from(["propose", "auto"]))
def test_hysteresis_properties(targets: list[int | None], confirms: list[bool], by_hand: list[int | None],
                               needs_confirmation: bool, mode: str) -> None:
    cycle = Cycle()
    current: int | None = None
    current_seen_at = NOW + STEP          # first cycle at which decide sees the current level
    offered: set[int | None] = set()      # levels the rules have proposed or declared so far
    times: list[datetime] = []
    fires: list[tuple[int, int]] = []     # (cycle, level) of raise/upgrade decisions
    for i, target in enumerate(targets):
        decisions = cycle([outcome(target, mode=mode, hold=HOLD, confirm=needs_confirmation)], {"flood": current})
        times.append(cycle.now)
        assert len(decisions) <= 1
        for d in decisions:
            if d.action in ("raise", "upgrade"):
                assert target is not None and d.level == target and (current is None or target < current)
                assert d.mode == mode
                fires.append((i, target))
            else:
                # never before the hold: the current level was stable and no rule gave it (or worse) for HOLD
                assert current is not None
                assert cycle.now - current_seen_at >= HOLD
                for t, lvl in zip(times, targets, strict=False):
                    if cycle.now - HOLD < t <= cycle.now:
                        assert lvl is None or lvl > current
                assert d.level is None or d.level > current
                if needs_confirmation or current not in offered:
                    assert d.mode == "propose"   # auto only goes down from a level the rules set
        new = current
        for d in decisions:
            offered.add(d.level)
            if d.mode == "auto" or confirms[i]:
                new = d.level
        if by_hand[i] is not None:
            new = None if by_hand[i] == 0 else by_hand[i]
        if new != current:
            current, current_seen_at = new, cycle.now + STEP
    # never twice for the same condition: between two fires of a level it was gone for a whole hold
    for n, (i, level) in enumerate(fires):
        for j, again in fires[n + 1:]:
            if again != level:
                continue
            assert any(
                all(targets[m] is None or targets[m] > level
                    for m in range(i, k + 1) if times[k] - HOLD < times[m] <= times[k])
                for k in range(i + 1, j + 1)
            ), f"level {level} fired at cycles {i} and {j} without a quiet hold between"
            break


def test_state_survives_json() -> None:
    state = HazardState({2: NOW}, {2: NOW, 3: NOW, 4: NOW}, NOW, 2, 2, (2, None), "rain-24h")
    assert HazardState.from_json(state.to_json()) == state
    assert HazardState.from_json({}) == HazardState()


def test_rule_kinds_are_all_evaluated() -> None:
    kinds = {type(r) for r in RULES}
    assert kinds == {RainTotalRule, WaterLevelRule, RateOfRiseRule, DamBreakRule, DryDaysRule,
                     ReservoirStorageRule, DrinkingWaterRule}
