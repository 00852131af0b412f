"""``decide``: the cycle's outcomes turned into at most one decision per hazard, with hysteresis.

The most severe level wins and is proposed (or declared, ``mode: auto``) at once; going down waits until no
rule has given the current level for the hold period, and is then proposed to the duty officer unless the
rules allow doing it alone. The same condition never fires twice: the state remembers what was fired until
that condition has been gone for the hold period. State in, state out, time passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, NamedTuple

from responder.domain.rules.model import Mode
from responder.domain.rules.outcomes import Evaluated, HazardRules, RuleOutcome, summarise
from responder.domain.types import format_duration, more_severe


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
    return decide_evaluated(summarise(outcomes), current_levels, state, now)


def decide_evaluated(evaluated: Evaluated, current_levels: Mapping[str, int | None],
                     state: Mapping[str, HazardState], now: datetime) -> Decided:
    """``decide`` on a cycle in short (``evaluate.reached_levels``): per hazard, only the outcome that wins."""
    decisions: list[RuleDecision] = []
    new_state = dict(state)
    for hazard in sorted(evaluated.hazards):
        decision, new_state[hazard] = _decide_hazard(hazard, evaluated.winners.get(hazard), evaluated.hazards[hazard],
                                                     current_levels.get(hazard), state.get(hazard, HazardState()),
                                                     now)
        if decision is not None:
            decisions.append(decision)
    return Decided(decisions, new_state)


def _decide_hazard(hazard: str, winner: RuleOutcome | None, rules: HazardRules, current: int | None,
                   st: HazardState, now: datetime) -> tuple[RuleDecision | None, HazardState]:
    """``winner``: the most severe level given (on a tie an ``auto`` rule wins, so that it is declared rather than
    asked); ``rules``: what every rule that gave an outcome adds."""
    target = winner.level if winner else None
    hold, confirm = rules.hold, rules.confirm
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
    rule = winner.rule if winner else (st.last_rule or rules.first)
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
