"""Escalation policy as data: when each step falls due and whom it reaches.

The schedule is fixed when a level is declared (times from the call-out), stored, and executed
at most once per step. Confirmations decide at execution time who is still owed a reminder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from responder.domain.plan import Plan

REMINDER_KINDS = ("callout", "resend", "voice", "evacuation", "inform_chain", "escalate_group", "escalate_chain")
"""What a confirmation cancels for that person; level changes and the stand-down still go out."""

ACTION_NAMES: dict[str, dict[str, str]] = {
    "zh": {"resend_sms": "重发短信", "voice_call": "语音电话", "notify_group_deputy": "告知副组长",
           "notify_group_leader": "告知组长", "notify_chain": "上报{name}"},
    "en": {"resend_sms": "SMS again", "voice_call": "voice call", "notify_group_deputy": "tell the group deputy",
           "notify_group_leader": "tell the group leader", "notify_chain": "report to {name}"},
}
"""An escalation step's action as people read it (call tree, duty board); ``{name}``: the chain rung's name."""


@dataclass(frozen=True)
class PlannedStep:
    level: int
    round: int
    step_index: int
    action: str
    chain_step: str | None
    due_at: datetime


def schedule(plan: Plan, level: int, called_at: datetime) -> list[PlannedStep]:
    """Every step of the level's policy, repeated ``repeat`` more times ``repeat_every`` apart."""
    policy = plan.policy(level)
    if policy is None or not policy.steps:
        return []
    out = []
    for rnd in range(policy.repeat + 1):
        offset = policy.repeat_every * rnd
        for index, step in enumerate(policy.steps):
            out.append(PlannedStep(level, rnd, index, step.action, step.chain_step, called_at + step.after + offset))
    return out


@dataclass(frozen=True)
class Pending:
    """A recipient who has not confirmed, with the groups they were called for."""

    person_id: str
    name: str
    groups: tuple[str, ...]


@dataclass
class StepTargets:
    """Who a step reaches: reminders to the unconfirmed, or reports about them to heads and the chain."""

    reminders: list[str] = field(default_factory=list)
    group_reports: dict[str, list[Pending]] = field(default_factory=dict)
    """group id → its unconfirmed members (for notify_group_deputy / notify_group_leader)."""
    chain_report: list[Pending] = field(default_factory=list)


def targets(action: str, unconfirmed: Sequence[Pending]) -> StepTargets:
    out = StepTargets()
    if action in ("resend_sms", "voice_call"):
        out.reminders = [p.person_id for p in unconfirmed if p.groups]
    elif action in ("notify_group_deputy", "notify_group_leader"):
        for p in unconfirmed:
            for g in p.groups:
                out.group_reports.setdefault(g, []).append(p)
    elif action == "notify_chain":
        out.chain_report = list(unconfirmed)
    return out


def previous_chain_step(plan: Plan, level: int, step_index: int) -> str | None:
    """The rung notified just before this one in the same policy (the deputy before the head)."""
    policy = plan.policy(level)
    if policy is None:
        return None
    for step in reversed(policy.steps[:step_index]):
        if step.action == "notify_chain":
            return step.chain_step
    return None


def names_list(names: Sequence[str], language: str, limit: int = 12) -> str:
    """Names for an SMS, cut short with a count so that a large group still fits the length limit."""
    sep = "、" if language == "zh" else ", "
    shown = sep.join(names[:limit])
    rest = len(names) - limit
    if rest > 0:
        shown += f"等{rest}人" if language == "zh" else f" and {rest} more"
    return shown


def first_due(steps: Sequence[PlannedStep], done: Mapping[tuple[int, int, int], bool]) -> PlannedStep | None:
    pending = [s for s in steps if not done.get((s.level, s.round, s.step_index))]
    return min(pending, key=lambda s: s.due_at) if pending else None
