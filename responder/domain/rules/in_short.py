"""``reached_levels``: a cycle's rules in short, over the snapshot columns of every station at once.

Each rule looks down one column (a window's totals, the margins, the rates) with a comparison that lets
through only the stations that can give a level; those few are judged exactly (the same functions as
``evaluate``), and per hazard the best so far is kept. One ``RuleOutcome`` is built per hazard, the winner's, from
its station's snapshot (made then). ``tests/domain/test_rules_in_short.py`` holds this to ``evaluate``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from responder.domain.derived import StationSnapshot
from responder.domain.rules.evaluate import (
    dam_break,
    drinking_water,
    dry_level,
    in_order,
    judge_of,
    rain_level,
    rate_level,
    rate_outcome,
    storage_level,
    water_level,
)
from responder.domain.rules.model import (
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
from responder.domain.rules.outcomes import Evaluated, RuleOutcome, WinnerKey, winner_key
from responder.domain.snapshot_columns import SnapshotColumns

Levels = list[tuple[int, int]]
"""(station index, level) of the stations where a rule gives a level."""


def reached_levels(rules: Iterable[AnyRule], snapshots: Mapping[str, StationSnapshot],
                   reports: Sequence[ManualReport], now: datetime) -> Evaluated:
    """What ``summarise(evaluate(...))`` gives, with one outcome object per hazard and none per station."""
    return _Short(SnapshotColumns.of(snapshots)).judge(rules, reports, now)


class _Short:
    def __init__(self, columns: SnapshotColumns) -> None:
        self.columns = columns
        self.hazards = Evaluated()
        self.best: dict[str, tuple[WinnerKey, Callable[[], RuleOutcome]]] = {}
        self.base: dict[tuple[str | None, str], int] = {}
        """The most severe level the rules other than rate of rise give per (station, hazard)."""
        self._kinds: dict[tuple[frozenset[str], bool], list[int]] = {}
        self.rated: list[bool] | None = None

    def judge(self, rules: Iterable[AnyRule], reports: Sequence[ManualReport], now: datetime) -> Evaluated:
        columns = self.columns
        rules = in_order(rules)
        self.rated = self._rated([r for r in rules if isinstance(r, RateOfRiseRule)])
        for rule in rules:
            if isinstance(rule, DrinkingWaterRule):
                self._gave(rule, [drinking_water(rule, reports, now)])
                continue
            if isinstance(rule, DamBreakRule):
                flags = [(sid, None if i is None else columns.latest[i].get("dam_break"))
                         for sid, i in self._chosen(rule)]
                self._gave(rule, dam_break(rule, flags, reports, now))
                continue
            named_or_of_kind = rule.stations if rule.stations != "all" else self._of_kinds(rule.applies_to, False)
            if named_or_of_kind:  # the rule applies somewhere, as ``evaluate`` counts it
                self.hazards.gave(rule)
            usable = self._usable(rule)
            if isinstance(rule, RateOfRiseRule):
                self._rates(rule, usable)
                continue
            levels = _levels(rule, columns, usable)
            if levels:
                self._add_base(rule, levels)
                # The rule's own best (its winner key, within one rule) is all it can offer.
                level, sid, i = min((level, columns.ids[i], i) for i, level in levels)
                self._offer(rule, level, sid, functools.partial(_outcome, judge_of(rule), rule, columns, i))
        self.hazards.winners = {hazard: build() for hazard, (_, build) in self.best.items()}
        return self.hazards

    def _chosen(self, rule: PerStationRule) -> list[tuple[str, int | None]]:
        """The stations a rule applies to (an index, None: no snapshot), as ``evaluate`` goes through them."""
        columns = self.columns
        if rule.stations != "all":
            return [(sid, columns.index.get(sid)) for sid in rule.stations]
        return [(columns.ids[i], i) for i in self._of_kinds(rule.applies_to, False)]

    def _of_kinds(self, kinds: frozenset[str], fresh: bool) -> list[int]:
        """The stations of these kinds (only the fresh ones, if asked): listed once per cycle, not per rule."""
        key = (kinds, fresh)
        if key not in self._kinds:
            every = self._kinds.setdefault((kinds, False), self.columns.of_kinds(kinds))
            stale = self.columns.stale
            self._kinds[key] = [i for i in every if not stale[i]] if fresh else every
        return self._kinds[key]

    def _usable(self, rule: StationRule) -> list[int]:
        """The chosen stations with a snapshot fresh enough (dry days count however long a gauge is silent)."""
        stale_matters = not isinstance(rule, DryDaysRule)
        if rule.stations == "all":
            return self._of_kinds(rule.applies_to, stale_matters)
        stale, index = self.columns.stale, self.columns.index
        chosen = [index.get(sid) for sid in rule.stations]
        return [i for i in chosen if i is not None and not (stale_matters and stale[i])]

    def _rates(self, rule: RateOfRiseRule, usable: list[int]) -> None:
        columns = self.columns
        rates = columns.rates.get(rule.lookback)
        if rates is None:
            return
        limit, hazard, base = rule.limit, rule.hazard, self.base
        for i in [i for i in usable if (rate := rates[i]) is not None and rate > limit]:
            sid = columns.ids[i]
            below = base.get((sid, hazard))
            level = rate_level(rule, rates[i], below)
            if level is not None:
                self._offer(rule, level, sid, functools.partial(_rate_outcome, rule, columns, i, below))

    def _rated(self, rate_rules: list[RateOfRiseRule]) -> list[bool] | None:
        """Per station, whether a rate-of-rise rule may look at it (what the other rules give there raises it);
        None: every station."""
        if any(r.stations != "all" for r in rate_rules):
            return None
        kinds = frozenset().union(*(r.applies_to for r in rate_rules))
        return [kind in kinds for kind in self.columns.kinds]

    def _add_base(self, rule: StationRule, levels: Levels) -> None:
        base, hazard, ids, rated = self.base, rule.hazard, self.columns.ids, self.rated
        for i, level in levels:
            if rated is None or rated[i]:
                where = (ids[i], hazard)
                base[where] = min(level, base.get(where, level))

    def _gave(self, rule: AnyRule, outcomes: Iterable[RuleOutcome]) -> None:
        outcomes = list(outcomes)
        if outcomes:
            self.hazards.gave(rule)
        for o in outcomes:
            if o.level is not None:
                self._offer(rule, o.level, o.station, functools.partial(_as_is, o))
                where = (o.station, rule.hazard)
                self.base[where] = min(o.level, self.base.get(where, o.level))

    def _offer(self, rule: AnyRule, level: int, sid: str | None, build: Callable[[], RuleOutcome]) -> None:
        key = winner_key(level, rule, sid)
        known = self.best.get(rule.hazard)
        if known is None or key < known[0]:
            self.best[rule.hazard] = (key, build)


def _levels(rule: StationRule, columns: SnapshotColumns, usable: list[int]) -> Levels:
    """The stations among ``usable`` where ``rule`` gives a level, and the level: a comparison per station lets
    through those that may (the least severe threshold reached), which are then judged exactly."""
    if isinstance(rule, RainTotalRule):
        totals = columns.totals.get(rule.window)
        if totals is None:
            return []
        lowest = min(rule.thresholds.values())
        return _exact([i for i in usable if (total := totals[i]) is not None and total >= lowest],
                      lambda i: rain_level(rule, totals[i]))
    if isinstance(rule, WaterLevelRule):
        margins, stages, guaranteed = columns.margin, columns.stage, columns.guaranteed
        widest = max([0.0, *rule.within.values()])
        on_guaranteed = rule.at_guaranteed is not None
        return _exact([i for i in usable if (margin := margins[i]) is not None and stages[i] is not None
                       and (margin <= widest or (on_guaranteed and (g := guaranteed[i]) is not None and g <= 0))],
                      lambda i: water_level(rule, stages[i], margins[i], guaranteed[i]))
    if isinstance(rule, DryDaysRule):
        days, fewest = columns.dry_days, min(rule.thresholds.values())
        return _exact([i for i in usable if (d := days[i]) is not None and d >= fewest],
                      lambda i: dry_level(rule, days[i]))
    assert isinstance(rule, ReservoirStorageRule)
    shares, fullest = columns.storage_pct, max(rule.below.values())
    return _exact([i for i in usable if (pct := shares[i]) is not None and pct / 100 < fullest],
                  lambda i: storage_level(rule, shares[i]))


def _exact(candidates: list[int], level_of: Callable[[int], int | None]) -> Levels:
    return [(i, level) for i in candidates if (level := level_of(i)) is not None]


def _outcome(judge: Callable[[StationRule, str, StationSnapshot], RuleOutcome], rule: StationRule,
             columns: SnapshotColumns, i: int) -> RuleOutcome:
    return judge(rule, columns.ids[i], columns.snapshot(i))


def _rate_outcome(rule: RateOfRiseRule, columns: SnapshotColumns, i: int, base: int | None) -> RuleOutcome:
    return rate_outcome(rule, columns.ids[i], columns.snapshot(i), base)


def _as_is(outcome: RuleOutcome) -> RuleOutcome:
    return outcome
