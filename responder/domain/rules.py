"""The plan's trigger and drought rules: evaluated each cycle, then turned into decisions with hysteresis.

``evaluate`` says which level each rule gives at each station now. ``decide`` turns that into at most
one decision per hazard: the most severe level wins and is proposed (or declared, ``mode: auto``) at
once; going down waits until no rule has given the current level for the hold period, and is then
proposed to the duty officer unless the rules allow doing it alone. The same condition never fires
twice: the state remembers what was fired until that condition has been gone for the hold period.
Everything is pure: state in, state out, time passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import Field, model_validator

from responder.domain.derived import (
    DEFAULT_DRY_HORIZON_DAYS,
    DEFAULT_LOOKBACK,
    DEFAULT_WINDOWS,
    Latest,
    SnapshotSpec,
    StationSnapshot,
    slot_filler,
)
from responder.domain.stations import LocalText, Slug, StationId, StationKind, Strict
from responder.domain.types import Duration, format_duration, more_severe, within

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


class _StationRule(_Rule):
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


class RainTotalRule(_StationRule):
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


class WaterLevelRule(_StationRule):
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


class RateOfRiseRule(_StationRule):
    """Water rising faster than ``limit`` m/h raises the level the other rules give at that station by one."""

    kind: Literal["rate_of_rise"] = "rate_of_rise"
    limit: Annotated[float, Field(gt=0)]
    lookback: Annotated[Duration, within("1m", "7d")] = DEFAULT_LOOKBACK
    alone: LevelNumber | None = 4
    """The level when no other rule gives one at that station; None for none."""
    ceiling: LevelNumber = 2
    """Raising never goes past this level: level 1 (an upstream dam break) is for a person or its own rule."""
    applies_to: ClassVar[frozenset[StationKind]] = frozenset({"river", "reservoir"})


class DamBreakRule(_StationRule):
    """A station's dam-break flag or a duty officer's report of an upstream dam break (上游溃坝)."""

    kind: Literal["dam_break"] = "dam_break"
    level: LevelNumber = 1
    valid_for: Annotated[Duration, within("1m", "31d")] = timedelta(hours=24)
    """A flag or report older than this is no longer evidence."""
    applies_to: ClassVar[frozenset[StationKind]] = frozenset({"river", "reservoir"})


class DryDaysRule(_StationRule):
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


class ReservoirStorageRule(_StationRule):
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


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """The level one rule gives at one station (or from reports) this cycle, with its evidence (slots: a
    cycle makes thousands)."""

    rule: str
    kind: str
    hazard: str
    level: int | None
    mode: Mode
    station: str | None
    evidence: Mapping[str, Any]
    """JSON-ready: rule, station, quantity, value, threshold, time, window, mode, summary, ..."""
    step_down_hold: timedelta
    step_down_needs_confirmation: bool


class _Evidence(Mapping[str, Any]):
    """Evidence put together when first read: a cycle gives an outcome per rule and station (thousands)
    and reads the evidence of the few that decide something. ``make(*args)`` builds it from values that
    do not change (frozen snapshots and rules), so reading it later gives what building it now would."""

    __slots__ = ("_args", "_data", "_make")

    def __init__(self, make: Callable[..., dict[str, Any]], *args: Any) -> None:
        self._make: Callable[..., dict[str, Any]] | None = make
        self._args = args
        self._data: dict[str, Any] | None = None

    def _dict(self) -> dict[str, Any]:
        if self._data is None:
            assert self._make is not None
            self._data = self._make(*self._args)
            self._make, self._args = None, ()
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def __eq__(self, other: object) -> bool:
        return self._dict() == (other._dict() if isinstance(other, _Evidence) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._dict())


def _evidence(rule: AnyRule, level: int | None, station: str | None, quantity: str | None = None,
              value: float | None = None, threshold: float | None = None, when: datetime | None = None,
              summary: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "rule": rule.id, "kind": rule.kind, "hazard": rule.hazard, "level": level, "mode": rule.mode,
        "station": station, "quantity": quantity,
        "value": None if value is None else round(value, 3),
        "threshold": threshold, "time": when.isoformat() if when else None,
        "summary": summary, **extra,
    }


_new_outcome: Callable[..., RuleOutcome] = slot_filler(RuleOutcome)


def _given(rule: AnyRule, level: int | None, station: str | None, evidence: Mapping[str, Any]) -> RuleOutcome:
    return _new_outcome(rule.id, rule.kind, rule.hazard, level, rule.mode, station, evidence,
                        rule.step_down_hold, rule.step_down_needs_confirmation)


def _outcome(rule: AnyRule, level: int | None, station: str | None, quantity: str | None = None,
             value: float | None = None, threshold: float | None = None, when: datetime | None = None,
             summary: str = "", **extra: Any) -> RuleOutcome:
    return _given(rule, level, station, _evidence(rule, level, station, quantity, value, threshold, when, summary,
                                                  **extra))


def _reached(value: float, thresholds: Mapping[int, float], rising: bool) -> tuple[int | None, float | None]:
    """The most severe level whose threshold ``value`` reaches (>= when rising, < when falling)."""
    for level in SEVERE_FIRST:
        limit = thresholds.get(level)
        if limit is not None and (value >= limit if rising else value < limit):
            return level, limit
    return None, None


Selected = Iterator[tuple[str, StationSnapshot | None]]


def _selected(rule: _StationRule, snapshots: Mapping[str, StationSnapshot]) -> Selected:
    if rule.stations == "all":
        for sid, snap in snapshots.items():
            if snap.kind in rule.applies_to:
                yield sid, snap
    else:
        for sid in rule.stations:
            yield sid, snapshots.get(sid)


# The outcomes given at every station every cycle keep their evidence lazy (``_Evidence``); each
# ``_x_evidence`` builds what ``_outcome`` would have built at once.

def _stale_evidence(rule: AnyRule, sid: str, snap: StationSnapshot) -> dict[str, Any]:
    return _evidence(rule, None, sid, snap.quantity, snap.value, when=snap.time,
                     summary=f"{sid}: stale (last report {snap.time.isoformat() if snap.time else 'never'})",
                     stale=True)


def _chosen(rule: _StationRule, snapshots: Mapping[str, StationSnapshot],
            of_kinds: dict[frozenset[str], list[tuple[str, StationSnapshot | None]]],
            ) -> Sequence[tuple[str, StationSnapshot | None]]:
    """What ``_selected`` gives, with "all the stations of these kinds" listed once per cycle, not per rule."""
    if rule.stations != "all":
        return list(_selected(rule, snapshots))
    if rule.applies_to not in of_kinds:
        of_kinds[rule.applies_to] = list(_selected(rule, snapshots))
    return of_kinds[rule.applies_to]


def _unusable(rule: AnyRule, sid: str, snap: StationSnapshot | None) -> RuleOutcome:
    """The outcome at a station without a snapshot, or with one too old to use (the caller checks)."""
    if snap is None:
        return _outcome(rule, None, sid, summary=f"{sid}: no data", no_data=True)
    return _given(rule, None, sid, _Evidence(_stale_evidence, rule, sid, snap))


def _rain_evidence(rule: RainTotalRule, sid: str, snap: StationSnapshot, total: float, level: int | None,
                   limit: float | None) -> dict[str, Any]:
    window = format_duration(rule.window)
    text = f"{sid}: {total:.1f} mm in {window}" + (f" >= {limit:g} mm" if limit is not None else "")
    return _evidence(rule, level, sid, "rain_mm", total, limit, snap.last_time, text, window=window)


def _rain_total(rule: RainTotalRule, sid: str, snap: StationSnapshot) -> RuleOutcome:
    total = snap.totals.get(rule.window)
    if total is None:
        window = format_duration(rule.window)
        return _outcome(rule, None, sid, "rain_mm", summary=f"{sid}: no {window} total", window=window)
    level, limit = _reached(total, rule.thresholds, rising=True)
    return _given(rule, level, sid, _Evidence(_rain_evidence, rule, sid, snap, total, level, limit))


def _water_evidence(sid: str, stage: Latest, margin: float, warning: float, threshold: float, level: int | None,
                    rule: WaterLevelRule) -> dict[str, Any]:
    text = f"{sid}: stage {stage.value:.2f} m, warning level {warning:.2f} m (margin {margin:+.2f} m)"
    return _evidence(rule, level, sid, "stage_m", stage.value, round(threshold, 3), stage.time, text,
                     warning_level=round(warning, 3), margin=round(margin, 3))


def _water_level(rule: WaterLevelRule, sid: str, snap: StationSnapshot) -> RuleOutcome:
    stage = snap.latest.get("stage_m")
    margin = snap.margin
    if stage is None or margin is None:
        why = "no stage reading" if stage is None else "no warning level configured"
        return _outcome(rule, None, sid, "stage_m", summary=f"{sid}: {why}")
    warning = stage.value + margin
    level: int | None = None
    threshold = warning
    if rule.at_guaranteed is not None and snap.guaranteed_margin is not None and snap.guaranteed_margin <= 0:
        level, threshold = rule.at_guaranteed, stage.value + snap.guaranteed_margin
    elif margin <= 0:
        level = rule.at_warning
    else:
        for lvl in SEVERE_FIRST:
            if lvl in rule.within and margin <= rule.within[lvl]:
                level, threshold = lvl, warning - rule.within[lvl]
                break
    return _given(rule, level, sid, _Evidence(_water_evidence, sid, stage, margin, warning, threshold, level, rule))


def _rate_evidence(rule: RateOfRiseRule, sid: str, snap: StationSnapshot, rate: float, level: int | None,
                   base: int | None) -> dict[str, Any]:
    lookback = format_duration(rule.lookback)
    text = f"{sid}: rising {rate:+.2f} m/h over {lookback} (limit {rule.limit:g} m/h)"
    return _evidence(rule, level, sid, "stage_m", rate, rule.limit, snap.time, text, lookback=lookback,
                     raised_from=base, unit="m/h")


def _rate(rule: RateOfRiseRule, sid: str, snap: StationSnapshot, base: int | None) -> RuleOutcome:
    rate = snap.rates.get(rule.lookback)
    if rate is None:
        lookback = format_duration(rule.lookback)
        return _outcome(rule, None, sid, "stage_m", summary=f"{sid}: too few reports for a rate over {lookback}",
                        lookback=lookback)
    level: int | None = None
    if rate > rule.limit:
        level = rule.alone if base is None else min(base, max(rule.ceiling, base - 1))
    return _given(rule, level, sid, _Evidence(_rate_evidence, rule, sid, snap, rate, level, base))


def _latest_reports(reports: Iterable[ManualReport], kind: str, now: datetime,
                    valid_for: timedelta) -> list[ManualReport]:
    latest: dict[str, ManualReport] = {}
    for report in reports:
        if report.kind == kind and now - valid_for <= report.time <= now:
            known = latest.get(report.place)
            if known is None or report.time >= known.time:
                latest[report.place] = report
    return sorted(latest.values(), key=lambda r: r.time)


def _dam_break(rule: DamBreakRule, chosen: Iterable[tuple[str, StationSnapshot | None]],
               reports: Sequence[ManualReport], now: datetime) -> Iterator[RuleOutcome]:
    for sid, snap in chosen:
        flag = snap.latest.get("dam_break") if snap else None
        if flag is None:
            continue
        raised = flag.value >= 0.5 and now - flag.time <= rule.valid_for
        yield _outcome(rule, rule.level if raised else None, sid, "dam_break", flag.value, 1, flag.time,
                       f"{sid}: dam-break flag {'raised' if raised else 'clear'}")
    broken = [r for r in _latest_reports(reports, "dam_break", now, rule.valid_for) if r.value >= 0.5]
    last = broken[-1] if broken else None
    if last is None:
        yield _outcome(rule, None, None, "dam_break", 0.0, 1, summary="no dam break reported")
    else:
        yield _outcome(rule, rule.level, last.station, "dam_break", 1.0, 1, last.time,
                       f"dam break reported at {last.place or 'upstream'} by {last.by}",
                       reported_by=last.by, place=last.place, note=last.note)


def _drinking_water(rule: DrinkingWaterRule, reports: Sequence[ManualReport], now: datetime) -> RuleOutcome:
    latest = _latest_reports(reports, "drinking_water", now, rule.valid_for)
    people = sum(r.value for r in latest)
    level, limit = _reached(people, rule.thresholds, rising=True)
    places = {r.place or "?": int(r.value) for r in latest}
    return _outcome(rule, level, None, "people_short_of_water", people, limit, latest[-1].time if latest else None,
                    f"{int(people)} people short of drinking water", places=places)


def _dry_evidence(rule: DryDaysRule, sid: str, snap: StationSnapshot, days: int, level: int | None,
                  limit: float | None) -> dict[str, Any]:
    return _evidence(rule, level, sid, "dry_days", days, limit, snap.last_time,
                     f"{sid}: {days} dry days (< {rule.dry_below_mm:g} mm a day)", stale=snap.stale)


def _dry_days(rule: DryDaysRule, sid: str, snap: StationSnapshot) -> RuleOutcome:
    if snap.dry_days is None:
        return _outcome(rule, None, sid, "rain_mm", summary=f"{sid}: no rain data for dry days")
    level, limit = _reached(snap.dry_days, rule.thresholds, rising=True)
    return _given(rule, level, sid, _Evidence(_dry_evidence, rule, sid, snap, snap.dry_days, level, limit))


def _storage(rule: ReservoirStorageRule, sid: str, snap: StationSnapshot) -> RuleOutcome:
    if snap.storage_pct is None:
        return _outcome(rule, None, sid, "storage_pct", summary=f"{sid}: no storage reading or capacity")
    level, share = _reached(snap.storage_pct / 100, rule.below, rising=False)
    return _outcome(rule, level, sid, "storage_pct", snap.storage_pct, None if share is None else share * 100,
                    snap.last_time, f"{sid}: storage {snap.storage_pct:.0f}% of capacity")


_PER_STATION: tuple[tuple[type[StationRule], Callable[[Any, str, StationSnapshot], RuleOutcome]], ...] = (
    (RainTotalRule, _rain_total), (WaterLevelRule, _water_level), (DryDaysRule, _dry_days),
    (ReservoirStorageRule, _storage))
"""The outcome of a rule at a station with a usable snapshot, per kind of rule: looked up once per rule."""


def evaluate(rules: Iterable[AnyRule], snapshots: Mapping[str, StationSnapshot], reports: Sequence[ManualReport],
             now: datetime) -> list[RuleOutcome]:
    """The level each rule gives now, per station (and per rule for reports). Rate-of-rise rules go last:
    they raise what the other rules give at the same station."""
    rules = list(rules)
    outcomes: list[RuleOutcome] = []
    append = outcomes.append
    of_kinds: dict[frozenset[str], list[tuple[str, StationSnapshot | None]]] = {}
    for rule in rules:
        if isinstance(rule, DrinkingWaterRule):
            append(_drinking_water(rule, reports, now))
        elif isinstance(rule, DamBreakRule):
            outcomes.extend(_dam_break(rule, _chosen(rule, snapshots, of_kinds), reports, now))
        elif not isinstance(rule, RateOfRiseRule):
            judge = next(judge for kind, judge in _PER_STATION if isinstance(rule, kind))
            stale_matters = not isinstance(rule, DryDaysRule)  # dry days count however long a gauge is silent
            for sid, snap in _chosen(rule, snapshots, of_kinds):
                if snap is None or (stale_matters and snap.stale):
                    append(_unusable(rule, sid, snap))
                else:
                    append(judge(rule, sid, snap))
    # The most severe level the other rules give per (station, hazard): looked up, not searched for, so
    # that a cycle stays linear in the number of stations.
    base_levels: dict[tuple[str | None, str], int] = {}
    for o in outcomes:
        if o.level is not None:
            key = (o.station, o.hazard)
            base_levels[key] = min(o.level, base_levels.get(key, o.level))
    for rule in rules:
        if isinstance(rule, RateOfRiseRule):
            hazard = rule.hazard
            for sid, snap in _chosen(rule, snapshots, of_kinds):
                if snap is None or snap.stale:
                    append(_unusable(rule, sid, snap))
                else:
                    append(_rate(rule, sid, snap, base_levels.get((sid, hazard))))
    return outcomes


@dataclass(frozen=True)
class HazardState:
    """What ``decide`` remembers per hazard between cycles (stored as JSON)."""

    fired: Mapping[int, datetime] = field(default_factory=dict)
    """Levels rules proposed or declared upward, kept until that condition has been gone for the hold."""
    seen: Mapping[int, datetime] = field(default_factory=dict)
    """Per level, the last cycle a rule gave that level or a more severe one."""
    since: datetime | None = None
    """When the incident's level was last seen to change (or watching began): a hold starts no earlier."""
    current: int | None = None
    rule_level: int | None = None
    """The incident's level if the rules set it (raised or stepped down to it); only then may ``auto`` step down."""
    proposed_down: tuple[int, int | None] | None = None
    """(from, to) of the step down already proposed, so that it is not proposed every cycle."""
    last_rule: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "fired": {str(k): v.isoformat() for k, v in self.fired.items()},
            "seen": {str(k): v.isoformat() for k, v in self.seen.items()},
            "since": self.since.isoformat() if self.since else None,
            "current": self.current,
            "rule_level": self.rule_level,
            "proposed_down": list(self.proposed_down) if self.proposed_down else None,
            "last_rule": self.last_rule,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HazardState:
        def times(key: str) -> dict[int, datetime]:
            return {int(k): datetime.fromisoformat(v) for k, v in (data.get(key) or {}).items()}

        down = data.get("proposed_down")
        return cls(
            fired=times("fired"), seen=times("seen"),
            since=datetime.fromisoformat(data["since"]) if data.get("since") else None,
            current=data.get("current"), rule_level=data.get("rule_level"),
            proposed_down=(int(down[0]), None if down[1] is None else int(down[1])) if down else None,
            last_rule=data.get("last_rule"),
        )


Action = Literal["raise", "upgrade", "downgrade", "end"]


@dataclass(frozen=True)
class RuleDecision:
    """What the rules want done to a hazard's incident now: propose it to the duty officer, or declare it."""

    hazard: str
    action: Action
    level: int | None
    """The new level; None to stand down (action "end")."""
    current: int | None
    mode: Mode
    rule: str
    evidence: Mapping[str, Any]
    at: datetime


class Decided(NamedTuple):
    decisions: list[RuleDecision]
    state: dict[str, HazardState]


def decide(outcomes: Iterable[RuleOutcome], current_levels: Mapping[str, int | None],
           state: Mapping[str, HazardState], now: datetime) -> Decided:
    """At most one decision per hazard, and the state to pass to the next cycle.

    ``current_levels`` is the level of each hazard's open incident (absent or None: none open). Hazards
    without rules are left alone: a person raised them and a person ends them.
    """
    by_hazard: dict[str, list[RuleOutcome]] = {}
    for outcome in outcomes:
        by_hazard.setdefault(outcome.hazard, []).append(outcome)
    decisions: list[RuleDecision] = []
    new_state = dict(state)
    for hazard in sorted(by_hazard):
        decision, new_state[hazard] = _decide_hazard(hazard, by_hazard[hazard], current_levels.get(hazard),
                                                     state.get(hazard, HazardState()), now)
        if decision is not None:
            decisions.append(decision)
    return Decided(decisions, new_state)


def _winner(outcomes: Sequence[RuleOutcome]) -> RuleOutcome | None:
    """The most severe level; on a tie an ``auto`` rule wins, so that it is declared rather than asked."""
    reached = [o for o in outcomes if o.level is not None]
    return min(reached, key=lambda o: (o.level, o.mode != "auto", o.rule, o.station or "")) if reached else None


def _decide_hazard(hazard: str, outcomes: Sequence[RuleOutcome], current: int | None, st: HazardState,
                   now: datetime) -> tuple[RuleDecision | None, HazardState]:
    winner = _winner(outcomes)
    target = winner.level if winner else None
    hold = max(o.step_down_hold for o in outcomes)
    confirm = any(o.step_down_needs_confirmation for o in outcomes)
    changed = st.since is None or st.current != current
    since = now if changed else st.since
    assert since is not None
    rule_level = st.rule_level
    if changed:
        rules_set = current in st.fired or (st.proposed_down is not None and st.proposed_down[1] == current)
        rule_level = current if rules_set else None
    seen = dict(st.seen)
    if target is not None:
        for level in range(target, 5):
            seen[level] = now

    def quiet(level: int, start: datetime) -> bool:
        return now - max(seen.get(level, start), start) >= hold

    fired = {level: at for level, at in st.fired.items() if not quiet(level, at)}
    ref = more_severe(current, min(fired, default=None))
    new = HazardState(fired, seen, since, current, rule_level, st.proposed_down, st.last_rule)
    if winner is not None and target is not None and (ref is None or target < ref):
        decision = RuleDecision(hazard, "raise" if current is None else "upgrade", target, current, winner.mode,
                                winner.rule, winner.evidence, now)
        return decision, replace(new, fired={**fired, target: now}, proposed_down=None, last_rule=winner.rule)
    if current is None or not quiet(current, since):
        return None, replace(new, proposed_down=None)
    allowed = next((lvl for lvl in range(current + 1, 5) if lvl in seen and seen[lvl] > now - hold), None)
    if st.proposed_down == (current, allowed):
        return None, new
    rule = winner.rule if winner else (st.last_rule or outcomes[0].rule)
    mode: Mode = "auto" if not confirm and rule_level == current else "propose"
    quiet_since = max(seen.get(current, since), since)
    evidence = {
        **(winner.evidence if winner else {}),
        "rule": rule, "hazard": hazard, "level": allowed, "current": current, "mode": mode,
        "hold": format_duration(hold), "quiet_since": quiet_since.isoformat(),
        "summary": f"no rule has given level {current} or worse since {quiet_since.isoformat()} "
                   f"(hold {format_duration(hold)})",
    }
    decision = RuleDecision(hazard, "end" if allowed is None else "downgrade", allowed, current, mode, rule,
                            evidence, now)
    return decision, replace(new, proposed_down=(current, allowed), last_rule=rule)
