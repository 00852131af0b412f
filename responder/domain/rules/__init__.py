"""The plan's trigger and drought rules: evaluated each cycle, then turned into decisions with hysteresis.

``evaluate`` says which level each rule gives at each station now (``evaluate.py``); ``decide`` turns that
into at most one decision per hazard (``decide.py``). The rules as the plan states them are in ``model.py``,
an outcome and its evidence in ``outcomes.py``. Everything is pure: state in, state out, time passed in.
"""

from responder.domain.rules.decide import Action, Decided, HazardState, RuleDecision, decide, decide_evaluated
from responder.domain.rules.evaluate import evaluate
from responder.domain.rules.in_short import reached_levels
from responder.domain.rules.model import (
    SEVERE_FIRST,
    AnyRule,
    DamBreakRule,
    DrinkingWaterRule,
    DryDaysRule,
    LevelNumber,
    ManualReport,
    Mode,
    PerStationRule,
    RainTotalRule,
    RateOfRiseRule,
    ReservoirStorageRule,
    Rule,
    StationRule,
    WaterLevelRule,
    snapshot_spec,
)
from responder.domain.rules.outcomes import Evaluated, HazardRules, RuleOutcome, summarise

__all__ = [
    "SEVERE_FIRST",
    "Action",
    "AnyRule",
    "DamBreakRule",
    "Decided",
    "DrinkingWaterRule",
    "DryDaysRule",
    "Evaluated",
    "HazardRules",
    "HazardState",
    "LevelNumber",
    "ManualReport",
    "Mode",
    "PerStationRule",
    "RainTotalRule",
    "RateOfRiseRule",
    "ReservoirStorageRule",
    "Rule",
    "RuleDecision",
    "RuleOutcome",
    "StationRule",
    "WaterLevelRule",
    "decide",
    "decide_evaluated",
    "evaluate",
    "reached_levels",
    "snapshot_spec",
    "summarise",
]
