"""The plan's trigger and drought rules as the plan states them: kinds, thresholds, windows, modes; the
snapshot spec they need, and a person's manual reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from responder.domain.derived import (
    DEFAULT_DRY_HORIZON_DAYS,
    DEFAULT_LOOKBACK,
    DEFAULT_WINDOWS,
    SnapshotSpec,
)
from responder.domain.stations import LocalText, Slug, StationId, StationKind, Strict
from responder.domain.types import Duration, within

LevelNumber = Annotated[int, Field(ge=1, le=4)]
Mode = Literal["propose", "auto"]
SEVERE_FIRST = (1, 2, 3, 4)


class _Rule(Strict):
    id: Slug
    name: LocalText = Field(default_factory=dict)
    hazard: Slug = "flood"
    mode: Mode = "propose"
    """propose: the duty officer confirms; auto: the level is declared at once with the reading as evidence."""
    step_down_hold: Annotated[Duration, within("0s", "30d")] = timedelta(hours=6)
    """How long no rule may give the current level before going down is proposed."""
    step_down_needs_confirmation: bool = True


class PerStationRule(_Rule):
    stations: Literal["all"] | list[StationId] = "all"
    """Station ids, or all stations of the kinds the rule applies to."""
    applies_to: ClassVar[frozenset[StationKind]] = frozenset()


def _ordered(thresholds: Mapping[int, float], what: str, rising: bool) -> None:
    """A more severe level needs a worse value: more rain, more dry days, less storage."""
    if not thresholds:
        raise ValueError(f"give at least one level and its {what}")
    values = [thresholds[level] for level in sorted(thresholds)]
    if not all((a > b) if rising else (a < b) for a, b in pairwise(values)):
        raise ValueError(f"a more severe level (smaller number) needs a {'higher' if rising else 'lower'} {what} "
                         f"(got {dict(sorted(thresholds.items()))})")


class RainTotalRule(PerStationRule):
    """Rain over a window at or above a threshold gives a level (the plan: 200 mm activates)."""

    kind: Literal["rain_total"] = "rain_total"
    window: Annotated[Duration, within("1m", "31d")] = timedelta(hours=24)
    thresholds: dict[LevelNumber, Annotated[float, Field(gt=0)]]
    """Level → mm, e.g. {2: 200, 3: 100, 4: 50}."""
    applies_to: ClassVar[frozenset[StationKind]] = frozenset({"rain"})

    @model_validator(mode="after")
    def _check(self) -> RainTotalRule:
        _ordered(self.thresholds, "rainfall", rising=True)
        if self.window <= timedelta(0):
            raise ValueError("the window must be longer than 0")
        return self


class WaterLevelRule(PerStationRule):
    """At the warning level (警戒水位) → level 2; within a margin below it → 3; optionally at 保证水位 → 1."""

    kind: Literal["water_level"] = "water_level"
    at_warning: LevelNumber = 2
    within: dict[LevelNumber, Annotated[float, Field(gt=0)]] = Field(default_factory=lambda: {3: 0.5})
    """Level → metres below the warning level, e.g. {3: 0.5, 4: 1.0}."""
    at_guaranteed: LevelNumber | None = None
    applies_to: ClassVar[frozenset[StationKind]] = frozenset({"river", "reservoir"})

    @model_validator(mode="after")
    def _check(self) -> WaterLevelRule:
        if self.within:
            _ordered(self.within, "margin", rising=False)
            if min(self.within) <= self.at_warning:
                raise ValueError("levels within a margin must be less severe (larger number) than at_warning")
        if self.at_guaranteed is not None and self.at_guaranteed >= self.at_warning:
            raise ValueError("at_guaranteed must be more severe (smaller number) than at_warning")
        return self


class RateOfRiseRule(PerStationRule):
    """Water rising faster than ``limit`` m/h raises the level the other rules give at that station by one."""

    kind: Literal["rate_of_rise"] = "rate_of_rise"
    limit: Annotated[float, Field(gt=0)]
    lookback: Annotated[Duration, within("1m", "7d")] = DEFAULT_LOOKBACK
    alone: LevelNumber | None = 4
    """The level when no other rule gives one at that station; None for none."""
    ceiling: LevelNumber = 2
    """Raising never goes past this level: level 1 (an upstream dam break) is for a person or its own rule."""
    applies_to: ClassVar[frozenset[StationKind]] = frozenset({"river", "reservoir"})


class DamBreakRule(PerStationRule):
    """A station's dam-break flag or a duty officer's report of an upstream dam break (上游溃坝)."""

    kind: Literal["dam_break"] = "dam_break"
    level: LevelNumber = 1
    valid_for: Annotated[Duration, within("1m", "31d")] = timedelta(hours=24)
    """A flag or report older than this is no longer evidence."""
    applies_to: ClassVar[frozenset[StationKind]] = frozenset({"river", "reservoir"})


class DryDaysRule(PerStationRule):
    """Consecutive days with less than ``dry_below_mm`` of rain."""

    kind: Literal["drought_dry_days"] = "drought_dry_days"
    hazard: Slug = "drought"
    thresholds: dict[LevelNumber, Annotated[int, Field(gt=0, le=366)]]
    """Level → days, e.g. {4: 16, 3: 26, 2: 36}."""
    dry_below_mm: Annotated[float, Field(gt=0)] = 1.0
    applies_to: ClassVar[frozenset[StationKind]] = frozenset({"rain"})

    @model_validator(mode="after")
    def _check(self) -> DryDaysRule:
        _ordered({k: float(v) for k, v in self.thresholds.items()}, "number of dry days", rising=True)
        return self


class ReservoirStorageRule(PerStationRule):
    """Storage below a share of capacity (山坪塘, reservoirs)."""

    kind: Literal["reservoir_storage"] = "reservoir_storage"
    hazard: Slug = "drought"
    below: dict[LevelNumber, Annotated[float, Field(gt=0, le=1)]]
    """Level → share of capacity, e.g. {4: 0.5, 3: 0.3, 2: 0.1}."""
    applies_to: ClassVar[frozenset[StationKind]] = frozenset({"reservoir"})

    @model_validator(mode="after")
    def _check(self) -> ReservoirStorageRule:
        _ordered(self.below, "storage share", rising=False)
        return self


class DrinkingWaterRule(_Rule):
    """People short of drinking water, from the villages' reports (the latest report per place counts)."""

    kind: Literal["drinking_water"] = "drinking_water"
    hazard: Slug = "drought"
    thresholds: dict[LevelNumber, Annotated[int, Field(gt=0, le=10_000_000)]]
    """Level → people, e.g. {4: 50, 3: 200, 2: 500, 1: 1000}."""
    valid_for: Annotated[Duration, within("1m", "366d")] = timedelta(days=7)

    @model_validator(mode="after")
    def _check(self) -> DrinkingWaterRule:
        _ordered({k: float(v) for k, v in self.thresholds.items()}, "number of people", rising=True)
        return self


Rule = Annotated[
    RainTotalRule | WaterLevelRule | RateOfRiseRule | DamBreakRule | DryDaysRule | ReservoirStorageRule
    | DrinkingWaterRule,
    Field(discriminator="kind"),
]
StationRule = RainTotalRule | WaterLevelRule | RateOfRiseRule | DamBreakRule | DryDaysRule | ReservoirStorageRule
AnyRule = StationRule | DrinkingWaterRule


def snapshot_spec(rules: Iterable[AnyRule], zone: tzinfo) -> SnapshotSpec:
    """The windows, lookbacks and dry-day settings the rules need, on top of the defaults shown to people."""
    rules = list(rules)
    windows = set(DEFAULT_WINDOWS) | {r.window for r in rules if isinstance(r, RainTotalRule)}
    lookbacks = [DEFAULT_LOOKBACK] + [r.lookback for r in rules if isinstance(r, RateOfRiseRule)]
    dry = [r for r in rules if isinstance(r, DryDaysRule)]
    horizon = max([DEFAULT_DRY_HORIZON_DAYS] + [max(r.thresholds.values()) + 1 for r in dry])
    return SnapshotSpec(
        windows=tuple(sorted(windows)),
        lookbacks=tuple(dict.fromkeys(lookbacks)),
        dry_below_mm=dry[0].dry_below_mm if dry else SnapshotSpec.dry_below_mm,
        dry_horizon_days=horizon,
        zone=zone,
    )


@dataclass(frozen=True, slots=True)
class ManualReport:
    """What a person reports: an upstream dam break (value 1; 0 clears it) or people short of drinking water."""

    kind: Literal["dam_break", "drinking_water"]
    time: datetime
    value: float = 1.0
    place: str = ""
    """Village or dam: the latest report per place counts."""
    by: str = ""
    station: str | None = None
    note: str = ""

