"""What one rule gives at one station this cycle (``RuleOutcome``), and its evidence, built when first read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from responder.domain.rules.model import SEVERE_FIRST, AnyRule, Mode


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


class Evidence(Mapping[str, Any]):
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
        return self._dict() == (other._dict() if isinstance(other, Evidence) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._dict())


def evidence_of(rule: AnyRule, level: int | None, station: str | None, quantity: str | None = None,
              value: float | None = None, threshold: float | None = None, when: datetime | None = None,
              summary: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "rule": rule.id, "kind": rule.kind, "hazard": rule.hazard, "level": level, "mode": rule.mode,
        "station": station, "quantity": quantity,
        "value": None if value is None else round(value, 3),
        "threshold": threshold, "time": when.isoformat() if when else None,
        "summary": summary, **extra,
    }


def given(rule: AnyRule, level: int | None, station: str | None, evidence: Mapping[str, Any]) -> RuleOutcome:
    return RuleOutcome(rule.id, rule.kind, rule.hazard, level, rule.mode, station, evidence,
                        rule.step_down_hold, rule.step_down_needs_confirmation)


def outcome_of(rule: AnyRule, level: int | None, station: str | None, quantity: str | None = None,
             value: float | None = None, threshold: float | None = None, when: datetime | None = None,
             summary: str = "", **extra: Any) -> RuleOutcome:
    return given(rule, level, station, evidence_of(rule, level, station, quantity, value, threshold, when, summary,
                                                  **extra))


def reached(value: float, thresholds: Mapping[int, float], rising: bool) -> tuple[int | None, float | None]:
    """The most severe level whose threshold ``value`` reaches (>= when rising, < when falling)."""
    for level in SEVERE_FIRST:
        limit = thresholds.get(level)
        if limit is not None and (value >= limit if rising else value < limit):
            return level, limit
    return None, None


@dataclass(frozen=True)
class HazardRules:
    """What ``decide`` needs of every rule that gave an outcome for a hazard this cycle, level or not."""

    hold: timedelta
    """The longest step-down hold among them."""
    confirm: bool
    """Whether any of them wants a step down confirmed."""
    first: str
    """The first of them (the step down names it when no rule gives a level)."""


WinnerKey = tuple[int, bool, str, str]
"""How outcomes compare for a hazard: the most severe level first; on a tie an ``auto`` rule, then by rule and
station, so that the same outcome wins whatever order they come in (the first one, on a whole tie)."""


def winner_key(level: int, rule: AnyRule, station: str | None) -> WinnerKey:
    return (level, rule.mode != "auto", rule.id, station or "")


@dataclass
class Evaluated:
    """A cycle's rules in short: per hazard the outcome that decides (the most severe level), and what every rule
    that gave an outcome adds (level or not)."""

    winners: dict[str, RuleOutcome] = field(default_factory=dict)
    hazards: dict[str, HazardRules] = field(default_factory=dict)

    def gave(self, rule: AnyRule) -> None:
        """``rule`` gave at least one outcome (level or not) this cycle."""
        known = self.hazards.get(rule.hazard)
        if known is None:
            self.hazards[rule.hazard] = HazardRules(rule.step_down_hold, rule.step_down_needs_confirmation, rule.id)
        else:
            self.hazards[rule.hazard] = HazardRules(max(known.hold, rule.step_down_hold),
                                                    known.confirm or rule.step_down_needs_confirmation, known.first)


def summarise(outcomes: Iterable[RuleOutcome]) -> Evaluated:
    """``evaluate``'s outcomes as ``reached_levels`` gives them."""
    out = Evaluated()
    best: dict[str, WinnerKey] = {}
    for o in outcomes:
        known = out.hazards.get(o.hazard)
        out.hazards[o.hazard] = HazardRules(o.step_down_hold, o.step_down_needs_confirmation, o.rule) if known is None \
            else HazardRules(max(known.hold, o.step_down_hold), known.confirm or o.step_down_needs_confirmation,
                             known.first)
        if o.level is not None:
            key = (o.level, o.mode != "auto", o.rule, o.station or "")
            if o.hazard not in best or key < best[o.hazard]:
                best[o.hazard], out.winners[o.hazard] = key, o
    return out
