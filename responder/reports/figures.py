"""The report's arithmetic, on plain values: no database here, so each figure is easy to test alone."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from responder.domain.level_history import AuditFacts, level_events
from responder.domain.response_times import GroupResponse
from responder.reports.model import (
    ChainUse,
    GroupFigures,
    LevelChange,
    LevelSpan,
    Overall,
    PersonFigures,
    SlowResponder,
    StepFigures,
)


def readings_margin(start: datetime, end: datetime) -> timedelta:
    """How far before the first raise and after the last stand-down the chart shows readings."""
    return max(timedelta(hours=2), (end - start) / 4)


def median(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


def percentile(values: Sequence[timedelta], q: float) -> timedelta | None:
    """Nearest-rank percentile: the smallest value with at least ``q`` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def level_changes(incident_id: int, events: Iterable[AuditFacts]) -> list[LevelChange]:
    """Level history from audit events (at, kind, actor, reason, evidence), in time order."""
    return [LevelChange(e.at, e.kind, e.from_level, e.to_level, e.actor, e.reason, incident_id=incident_id)
            for e in level_events(events)]


def level_spans(changes: Sequence[LevelChange], end: datetime, colour: Callable[[int], str]) -> list[LevelSpan]:
    """The stretches between changes; the last one runs to the stand-down or ``end``."""
    spans: list[LevelSpan] = []
    for i, change in enumerate(changes):
        if change.to_level is None:
            continue
        until = changes[i + 1].at if i + 1 < len(changes) else end
        if until > change.at:
            spans.append(LevelSpan(change.incident_id, change.to_level, colour(change.to_level), change.at, until))
    return spans


def level_at(changes: Sequence[LevelChange], when: datetime) -> int | None:
    level = None
    for change in changes:
        if change.at > when:
            break
        level = change.to_level
    return level


def group_figures(incident_id: int, group: str, name: str, members: Sequence[PersonFigures],
                  response: GroupResponse) -> GroupFigures:
    """A group's row: its times from ``response`` (counted from the group's own call of each person)."""
    times = list(response.answered.values())
    confirmed = set(response.confirmed)
    return GroupFigures(
        incident_id=incident_id, group=group, name=name, called=len(members), confirmed=len(confirmed),
        called_at=response.called_at, first_confirmation=response.first_confirmation, required=response.required,
        headcount_reached=response.headcount_reached, median=median(times), p90=percentile(times, 0.9),
        not_confirmed=tuple(p.name for p in members if p.person_id not in confirmed),
        unreachable=tuple(p.name for p in members if p.unreachable),
    )


def overall(people: Sequence[PersonFigures], raised: Mapping[int, datetime]) -> Overall:
    """``first_confirmation``: from the raise to the first confirmation of the incident (the earliest over several
    incidents), not the quickest answer of anyone: someone called at level 1 and answering at once is not first."""
    called = [p for p in people if p.called_out]
    times = [t for p in called if (t := p.time_to_confirm) is not None]
    firsts = [p.confirmed_at - raised[p.incident_id] for p in called if p.confirmed_at is not None]
    return Overall(len(called), len(times), min(firsts) if firsts else None, median(times), percentile(times, 0.9))


def slow_responders(people: Sequence[PersonFigures], changes: Mapping[int, Sequence[LevelChange]],
                    deadline: Callable[[int, int], timedelta | None]) -> list[SlowResponder]:
    """Confirmed, but later than the level's ``confirm_within`` (the level in force when they were called)."""
    out = []
    for p in people:
        took = p.time_to_confirm
        if took is None or not p.called_out:
            continue
        level = level_at(changes.get(p.incident_id, ()), p.called_at) or p.called_level
        limit = deadline(p.incident_id, level)
        if limit is not None and took > limit:
            out.append(SlowResponder(p.incident_id, p.person_id, p.name, p.groups, level, limit, took))
    return sorted(out, key=lambda s: (s.incident_id, -s.took, s.person_id))


def chain_uses(incident_id: int, steps: Sequence[StepFigures], informed: Mapping[str, tuple[datetime, int]],
               name: Callable[[str], str]) -> list[ChainUse]:
    """Per rung: told at declaration, used by escalation, or skipped because the rung before answered."""
    out = [ChainUse(incident_id, rung, name(rung), "informed", at, n) for rung, (at, n) in informed.items()]
    for s in steps:
        if s.action != "notify_chain" or not s.chain_step:
            continue
        if s.status == "done":
            outcome = "used"
        elif s.status == "skipped":
            outcome = "skipped" if s.skip_reason == "rung answered" else "not needed"
        else:
            outcome = s.status
        out.append(ChainUse(incident_id, s.chain_step, s.chain_name or name(s.chain_step), outcome,
                            s.done_at or s.due_at, s.messages))
    return out
