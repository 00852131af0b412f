"""What happened, as the report tells it besides the figures: the moments marked on the chart (a dam break, the
stand-down), the texts people received, and the decision log. Plain data, drawn from the audit trail and the
outbox (:mod:`responder.reports.records`) by :mod:`responder.reports.assemble`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from responder.reports.records import CalloutRecord, TextRow

MARK_KINDS = {"dam_break": "dam break 溃坝", "stand_down": "stand-down 应急结束"}
NOT_DECISIONS = ("confirmed", "escalation_acknowledged")
"""Replies, not decisions: the confirmations are counted and listed elsewhere in the report."""


@dataclass(frozen=True)
class Mark:
    """A moment drawn across the chart."""

    incident_id: int
    at: datetime
    kind: str
    """dam_break or stand_down."""

    @property
    def label(self) -> str:
        return MARK_KINDS.get(self.kind, self.kind)


@dataclass(frozen=True)
class SentText:
    """One distinct text that reached people, and how many."""

    incident_id: int
    kind: str
    language: str
    channel: str
    body: str
    people: int
    first_at: datetime


@dataclass(frozen=True)
class DecisionEntry:
    incident_id: int
    at: datetime
    actor: str
    kind: str
    summary: str
    reason: str | None


@dataclass(frozen=True)
class Called:
    groups: tuple[str, ...]
    zones: tuple[str, ...]
    at: datetime
    levels: tuple[int, ...]


def called(history: Iterable[CalloutRecord], assignments: Iterable[Mapping[str, Any]], called_at: datetime,
           called_level: int) -> Called:
    """A recipient's call-outs counted from their history: the recipient row keeps only the latest level's
    assignments (``assignments``, the fallback), so the groups a downgrade released and the levels anyone was
    called at would be lost. Repeats of a level in a row are one."""
    tasked = [c for c in history if c.tasked]
    given = list(assignments)
    groups = [g for c in tasked for g in c.groups] or [str(a["group"]) for a in given if a.get("group")]
    zones = [z for c in tasked for z in c.zones] or [str(a["zone"]) for a in given if a.get("zone")]
    levels = tuple(c.level for i, c in enumerate(tasked) if i == 0 or c.level != tasked[i - 1].level)
    return Called(tuple(dict.fromkeys(groups)), tuple(dict.fromkeys(zones)), tasked[0].at if tasked else called_at,
                  levels or (called_level,))


AuditEvent = tuple[datetime, str, str, str, "str | None", Mapping[str, Any]]
"""(at, kind, actor, summary, reason, evidence) of one audit event."""


def marks(incident_id: int, events: Iterable[AuditEvent]) -> list[Mark]:
    """A dam break (a report, or a level change it triggered: once, at the time it was reported) and the stand-down."""
    out: list[Mark] = []
    seen_dam: set[str] = set()
    for at, kind, _actor, _summary, _reason, evidence in events:
        trigger = evidence.get("trigger") if isinstance(evidence.get("trigger"), Mapping) else None
        dam = evidence if evidence.get("kind") == "dam_break" else trigger if trigger and (
            trigger.get("kind") == "dam_break" or trigger.get("quantity") == "dam_break") else None
        if dam is not None:
            when = _time(dam.get("time")) or at
            key = f"{dam.get('station') or dam.get('place')}@{when.isoformat()}"
            if key not in seen_dam:
                seen_dam.add(key)
                out.append(Mark(incident_id, when, "dam_break"))
        if kind == "ended":
            out.append(Mark(incident_id, at, "stand_down"))
    return sorted(out, key=lambda m: m.at)


def decisions(incident_id: int, events: Iterable[AuditEvent]) -> list[DecisionEntry]:
    return [DecisionEntry(incident_id, at, actor, kind, summary, reason)
            for at, kind, actor, summary, reason, _evidence in events if kind not in NOT_DECISIONS]


def sent_texts(incident_id: int, rows: Iterable[TextRow],
               reached: Iterable[str]) -> list[SentText]:
    """Distinct texts of the messages that reached someone: rows of (person, status, kind, language, channel, body,
    created at), in the order they were first sent."""
    wanted = set(reached)
    people: dict[tuple[str, str, str, str], set[str]] = {}
    first: dict[tuple[str, str, str, str], datetime] = {}
    for pid, status, kind, language, channel, body, at in rows:
        if status not in wanted:
            continue
        key = (kind, language, channel, body)
        people.setdefault(key, set()).add(pid or "")
        first[key] = min(first.get(key, at), at)
    return sorted((SentText(incident_id, k[0], k[1], k[2], k[3], len(people[k]), first[k]) for k in people),
                  key=lambda t: (t.first_at, t.kind, t.language, t.body))


def _time(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None
