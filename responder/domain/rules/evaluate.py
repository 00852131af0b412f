"""``evaluate``: the level each rule gives at each station now, from the cycle's snapshots and reports."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from responder.domain.derived import Latest, StationSnapshot
from responder.domain.rules.model import (
    SEVERE_FIRST,
    AnyRule,
    DamBreakRule,
    DrinkingWaterRule,
    DryDaysRule,
    ManualReport,
    PerStationRule,
    RainTotalRule,
    RateOfRiseRule,
    ReservoirStorageRule,
    StationRule,
    WaterLevelRule,
)
from responder.domain.rules.outcomes import (
    Evidence,
    RuleOutcome,
    evidence_of,
    given,
    outcome_of,
    reached,
)
from responder.domain.types import format_duration

Selected = Iterator[tuple[str, StationSnapshot | None]]


def _selected(rule: PerStationRule, snapshots: Mapping[str, StationSnapshot]) -> Selected:
    if rule.stations == "all":
        for sid, snap in snapshots.items():
            if snap.kind in rule.applies_to:
                yield sid, snap
    else:
        for sid in rule.stations:
            yield sid, snapshots.get(sid)


# The outcomes given at every station every cycle keep their evidence lazy (``Evidence``); each
# ``_x_evidence`` builds what ``outcome_of`` would have built at once.

def _stale_evidence(rule: AnyRule, sid: str, snap: StationSnapshot) -> dict[str, Any]:
    return evidence_of(rule, None, sid, snap.quantity, snap.value, when=snap.time,
                     summary=f"{sid}: stale (last report {snap.time.isoformat() if snap.time else 'never'})",
                     stale=True)


def _chosen(rule: PerStationRule, snapshots: Mapping[str, StationSnapshot],
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
        return outcome_of(rule, None, sid, summary=f"{sid}: no data", no_data=True)
    return given(rule, None, sid, Evidence(_stale_evidence, rule, sid, snap))


def _rain_evidence(rule: RainTotalRule, sid: str, snap: StationSnapshot, total: float, level: int | None,
                   limit: float | None) -> dict[str, Any]:
    window = format_duration(rule.window)
    text = f"{sid}: {total:.1f} mm in {window}" + (f" >= {limit:g} mm" if limit is not None else "")
    return evidence_of(rule, level, sid, "rain_mm", total, limit, snap.last_time, text, window=window)


def rain_level(rule: RainTotalRule, total: float | None) -> int | None:
    """The level a window's total gives (the level alone: what a cycle judges every gauge on)."""
    return None if total is None else reached(total, rule.thresholds, rising=True)[0]


def _rain_total(rule: RainTotalRule, sid: str, snap: StationSnapshot) -> RuleOutcome:
    total = snap.totals.get(rule.window)
    if total is None:
        window = format_duration(rule.window)
        return outcome_of(rule, None, sid, "rain_mm", summary=f"{sid}: no {window} total", window=window)
    level, limit = reached(total, rule.thresholds, rising=True)
    return given(rule, level, sid, Evidence(_rain_evidence, rule, sid, snap, total, level, limit))


def _water_evidence(sid: str, stage: Latest, margin: float, warning: float, threshold: float, level: int | None,
                    rule: WaterLevelRule) -> dict[str, Any]:
    text = f"{sid}: stage {stage.value:.2f} m, warning level {warning:.2f} m (margin {margin:+.2f} m)"
    return evidence_of(rule, level, sid, "stage_m", stage.value, round(threshold, 3), stage.time, text,
                     warning_level=round(warning, 3), margin=round(margin, 3))


def _water_reached(rule: WaterLevelRule, stage: float, margin: float, guaranteed: float | None,
                   ) -> tuple[int | None, float]:
    """The level and the threshold it was judged against, the stage, its margin to the warning level and to the
    guaranteed level given."""
    warning = stage + margin
    if rule.at_guaranteed is not None and guaranteed is not None and guaranteed <= 0:
        return rule.at_guaranteed, stage + guaranteed
    if margin <= 0:
        return rule.at_warning, warning
    for lvl in SEVERE_FIRST:
        if lvl in rule.within and margin <= rule.within[lvl]:
            return lvl, warning - rule.within[lvl]
    return None, warning


def water_level(rule: WaterLevelRule, stage: float | None, margin: float | None, guaranteed: float | None,
                ) -> int | None:
    return None if stage is None or margin is None else _water_reached(rule, stage, margin, guaranteed)[0]


def _water_level(rule: WaterLevelRule, sid: str, snap: StationSnapshot) -> RuleOutcome:
    stage = snap.latest.get("stage_m")
    margin = snap.margin
    if stage is None or margin is None:
        why = "no stage reading" if stage is None else "no warning level configured"
        return outcome_of(rule, None, sid, "stage_m", summary=f"{sid}: {why}")
    level, threshold = _water_reached(rule, stage.value, margin, snap.guaranteed_margin)
    warning = stage.value + margin
    return given(rule, level, sid, Evidence(_water_evidence, sid, stage, margin, warning, threshold, level, rule))


def _rate_evidence(rule: RateOfRiseRule, sid: str, snap: StationSnapshot, rate: float, level: int | None,
                   base: int | None) -> dict[str, Any]:
    lookback = format_duration(rule.lookback)
    text = f"{sid}: rising {rate:+.2f} m/h over {lookback} (limit {rule.limit:g} m/h)"
    return evidence_of(rule, level, sid, "stage_m", rate, rule.limit, snap.time, text, lookback=lookback,
                     raised_from=base, unit="m/h")


def rate_level(rule: RateOfRiseRule, rate: float | None, base: int | None) -> int | None:
    """The level a rate of rise gives, ``base`` being what the other rules give at the station (None: nothing)."""
    if rate is None or rate <= rule.limit:
        return None
    return rule.alone if base is None else min(base, max(rule.ceiling, base - 1))


def rate_outcome(rule: RateOfRiseRule, sid: str, snap: StationSnapshot, base: int | None) -> RuleOutcome:
    rate = snap.rates.get(rule.lookback)
    if rate is None:
        lookback = format_duration(rule.lookback)
        return outcome_of(rule, None, sid, "stage_m", summary=f"{sid}: too few reports for a rate over {lookback}",
                          lookback=lookback)
    level = rate_level(rule, rate, base)
    return given(rule, level, sid, Evidence(_rate_evidence, rule, sid, snap, rate, level, base))


def _latest_reports(reports: Iterable[ManualReport], kind: str, now: datetime,
                    valid_for: timedelta) -> list[ManualReport]:
    latest: dict[str, ManualReport] = {}
    for report in reports:
        if report.kind == kind and now - valid_for <= report.time <= now:
            known = latest.get(report.place)
            if known is None or report.time >= known.time:
                latest[report.place] = report
    return sorted(latest.values(), key=lambda r: r.time)


def dam_break(rule: DamBreakRule, flags: Iterable[tuple[str, Latest | None]], reports: Sequence[ManualReport],
              now: datetime) -> Iterator[RuleOutcome]:
    """The outcomes of a dam-break rule from the chosen stations' latest flags and the reports."""
    for sid, flag in flags:
        if flag is None:
            continue
        raised = flag.value >= 0.5 and now - flag.time <= rule.valid_for
        yield outcome_of(rule, rule.level if raised else None, sid, "dam_break", flag.value, 1, flag.time,
                       f"{sid}: dam-break flag {'raised' if raised else 'clear'}")
    broken = [r for r in _latest_reports(reports, "dam_break", now, rule.valid_for) if r.value >= 0.5]
    last = broken[-1] if broken else None
    if last is None:
        yield outcome_of(rule, None, None, "dam_break", 0.0, 1, summary="no dam break reported")
    else:
        yield outcome_of(rule, rule.level, last.station, "dam_break", 1.0, 1, last.time,
                       f"dam break reported at {last.place or 'upstream'} by {last.by}",
                       reported_by=last.by, place=last.place, note=last.note)


def drinking_water(rule: DrinkingWaterRule, reports: Sequence[ManualReport], now: datetime) -> RuleOutcome:
    latest = _latest_reports(reports, "drinking_water", now, rule.valid_for)
    people = sum(r.value for r in latest)
    level, limit = reached(people, rule.thresholds, rising=True)
    places = {r.place or "?": int(r.value) for r in latest}
    return outcome_of(rule, level, None, "people_short_of_water", people, limit, latest[-1].time if latest else None,
                    f"{int(people)} people short of drinking water", places=places)


def _dry_evidence(rule: DryDaysRule, sid: str, snap: StationSnapshot, days: int, level: int | None,
                  limit: float | None) -> dict[str, Any]:
    return evidence_of(rule, level, sid, "dry_days", days, limit, snap.last_time,
                     f"{sid}: {days} dry days (< {rule.dry_below_mm:g} mm a day)", stale=snap.stale)


def dry_level(rule: DryDaysRule, days: int | None) -> int | None:
    return None if days is None else reached(days, rule.thresholds, rising=True)[0]


def _dry_days(rule: DryDaysRule, sid: str, snap: StationSnapshot) -> RuleOutcome:
    if snap.dry_days is None:
        return outcome_of(rule, None, sid, "rain_mm", summary=f"{sid}: no rain data for dry days")
    level, limit = reached(snap.dry_days, rule.thresholds, rising=True)
    return given(rule, level, sid, Evidence(_dry_evidence, rule, sid, snap, snap.dry_days, level, limit))


def storage_level(rule: ReservoirStorageRule, pct: float | None) -> int | None:
    return None if pct is None else reached(pct / 100, rule.below, rising=False)[0]


def _storage(rule: ReservoirStorageRule, sid: str, snap: StationSnapshot) -> RuleOutcome:
    if snap.storage_pct is None:
        return outcome_of(rule, None, sid, "storage_pct", summary=f"{sid}: no storage reading or capacity")
    level, share = reached(snap.storage_pct / 100, rule.below, rising=False)
    return outcome_of(rule, level, sid, "storage_pct", snap.storage_pct, None if share is None else share * 100,
                    snap.last_time, f"{sid}: storage {snap.storage_pct:.0f}% of capacity")


Judge = Callable[[Any, str, StationSnapshot], RuleOutcome]
JUDGES: tuple[tuple[type[StationRule], Judge], ...] = (
    (RainTotalRule, _rain_total), (WaterLevelRule, _water_level), (DryDaysRule, _dry_days),
    (ReservoirStorageRule, _storage))
"""Per kind of rule: the outcome at a station with a usable snapshot."""


def judge_of(rule: StationRule) -> Judge:
    return next(judge for kind, judge in JUDGES if isinstance(rule, kind))


def in_order(rules: Iterable[AnyRule]) -> list[AnyRule]:
    """Rate-of-rise rules last: they raise what the other rules give at the same station."""
    rules = list(rules)
    return [r for r in rules if not isinstance(r, RateOfRiseRule)] + [r for r in rules if isinstance(r, RateOfRiseRule)]


def evaluate(rules: Iterable[AnyRule], snapshots: Mapping[str, StationSnapshot], reports: Sequence[ManualReport],
             now: datetime) -> list[RuleOutcome]:
    """The level each rule gives now, per station (and per rule for reports), level or not: what `feeds check`
    shows (a cycle decides on ``in_short.reached_levels``, which makes no object per station)."""
    outcomes: list[RuleOutcome] = []
    of_kinds: dict[frozenset[str], list[tuple[str, StationSnapshot | None]]] = {}
    base_levels: dict[tuple[str | None, str], int] | None = None
    for rule in in_order(rules):
        if isinstance(rule, DrinkingWaterRule):
            outcomes.append(drinking_water(rule, reports, now))
            continue
        chosen = _chosen(rule, snapshots, of_kinds)
        if isinstance(rule, DamBreakRule):
            outcomes.extend(dam_break(rule, [(sid, snap.latest.get("dam_break") if snap else None)
                                             for sid, snap in chosen], reports, now))
            continue
        if isinstance(rule, RateOfRiseRule):
            if base_levels is None:
                base_levels = _base_levels(outcomes)
            outcomes.extend(_rates(rule, chosen, base_levels))
            continue
        judge = judge_of(rule)
        stale_matters = not isinstance(rule, DryDaysRule)  # dry days count however long a gauge is silent
        for sid, snap in chosen:
            if snap is None or (stale_matters and snap.stale):
                outcomes.append(_unusable(rule, sid, snap))
            else:
                outcomes.append(judge(rule, sid, snap))
    return outcomes


def _base_levels(outcomes: Iterable[RuleOutcome]) -> dict[tuple[str | None, str], int]:
    """The most severe level the other rules give per (station, hazard): looked up, not searched for, so that a
    cycle stays linear in the number of stations."""
    base: dict[tuple[str | None, str], int] = {}
    for o in outcomes:
        if o.level is not None:
            key = (o.station, o.hazard)
            base[key] = min(o.level, base.get(key, o.level))
    return base


def _rates(rule: RateOfRiseRule, chosen: Sequence[tuple[str, StationSnapshot | None]],
           base_levels: Mapping[tuple[str | None, str], int]) -> Iterator[RuleOutcome]:
    hazard = rule.hazard
    for sid, snap in chosen:
        if snap is None or snap.stale:
            yield _unusable(rule, sid, snap)
        else:
            yield rate_outcome(rule, sid, snap, base_levels.get((sid, hazard)))
