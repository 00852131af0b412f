"""What the duty officer sees: incident list, per-group status, and the audit timeline."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from responder.app.ports import Context
from responder.domain.errors import NotFound
from responder.domain.plan import pick
from responder.domain.routes import confirm_by
from responder.storage import incidents as store
from responder.storage.escalation_steps import next_pending
from responder.storage.models import IncidentRow

RANK = {"delivered": 6, "sent": 5, "sending": 4, "pending": 3, "undelivered": 2, "failed": 1, "cancelled": 0}


@dataclass
class PersonStatus:
    person_id: str
    name: str
    phone: str
    delivery: str
    confirmed_at: datetime | None
    confirmed_channel: str | None
    groups: list[str]
    confirm_by: str = "reply"
    """How this person confirms, as the plan's route for their number says: "reply" to the SMS, or by pressing 1 in a
    voice call ("voice_after_sms", "voice_instead"): someone with no reply channel never "did not reply"."""


@dataclass
class GroupStatus:
    group: str
    name: str
    called: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    confirmed: int = 0
    required: int | None = None
    unreachable: list[str] = field(default_factory=list)
    not_confirmed: list[str] = field(default_factory=list)
    """Not confirmed yet, who can reply to the SMS."""
    awaiting_call: list[str] = field(default_factory=list)
    """Not confirmed yet, who have no SMS reply channel: they confirm by pressing 1 when the voice call reaches them."""


@dataclass
class IncidentStatus:
    incident: IncidentRow
    groups: list[GroupStatus]
    people: list[PersonStatus]
    other: list[PersonStatus]
    """Recipients outside any group: the reporting chain, evacuation-zone leads."""
    totals: dict[str, int]
    zone: ZoneInfo
    """The time zone of the plan the incident was declared under, to show its times in: the plan file is not read
    (a fresh ``alert status`` parsed it for this alone, and a plan being edited must not hide the status)."""
    next_step: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        inc = self.incident
        return {
            "id": inc.id, "code": inc.code, "hazard": inc.hazard, "level": inc.level, "status": inc.status,
            "is_drill": inc.is_drill, "reason": inc.reason, "raised_by": inc.raised_by, "raised_at": inc.raised_at,
            "ended_at": inc.ended_at, "totals": self.totals, "next_step": self.next_step,
            "groups": [g.__dict__ for g in self.groups],
            "people": [p.__dict__ for p in self.people + self.other],
        }


def list_incidents(ctx: Context, include_ended: bool = True, limit: int = 50) -> list[IncidentRow]:
    ctx.require_schema()
    with ctx.sessions() as session:
        return store.incidents_newest_first(session, include_ended, limit)


def get_incident(ctx: Context, incident_id: int) -> IncidentRow:
    ctx.require_schema()
    with ctx.sessions() as session:
        incident = store.incident(session, incident_id)
    if incident is None:
        raise NotFound(f"no incident #{incident_id}")
    return incident


def incident_status(ctx: Context, incident_id: int) -> IncidentStatus:
    from responder.app.incident_basis import snapshot_of

    ctx.require_schema()
    with ctx.sessions() as session:
        incident = store.incident(session, incident_id)
        if incident is None:
            raise NotFound(f"no incident #{incident_id}")
        # Inside the session: a fresh process has not parsed this snapshot yet, and its columns load on first read.
        plan, _ = snapshot_of(incident)
        recipients = store.recipient_states(session, incident_id)
        messages = store.message_states(session, incident_id)
    best: dict[str, str] = {}
    totals: dict[str, int] = defaultdict(int)
    for pid, status, _kind in messages:
        totals[status] += 1
        if pid and RANK.get(status, -1) > RANK.get(best.get(pid, ""), -1):
            best[pid] = status
    groups: dict[str, GroupStatus] = {}
    people: list[PersonStatus] = []
    other: list[PersonStatus] = []
    for r in recipients:
        delivery = best.get(r.person_id, "none")
        gids = [a["group"] for a in r.assignments if a.get("group")]
        person = PersonStatus(r.person_id, r.name, r.phone, delivery, r.confirmed_at, r.confirmed_channel, gids,
                              confirm_by(plan.messaging, r.phone))
        (people if gids else other).append(person)
        for gid in gids:
            g = groups.get(gid)
            if g is None:
                name = pick(plan.group(gid).name, plan.default_language) if gid in plan.group_ids else gid
                g = groups[gid] = GroupStatus(gid, name, required=plan.resources.headcount(gid))
            g.called += 1
            g.counts[delivery] = g.counts.get(delivery, 0) + 1
            if r.confirmed_at:
                g.confirmed += 1
            elif person.confirm_by == "reply":
                g.not_confirmed.append(r.name)
            else:
                g.awaiting_call.append(r.name)
            if delivery in ("failed", "undelivered"):
                g.unreachable.append(r.name)
    ordered = [groups[g.id] for g in plan.groups if g.id in groups]
    with ctx.sessions() as session:
        step = next_pending(session, incident_id)
    upcoming = None if step is None else {"id": step.id, "action": step.action, "chain_step": step.chain_step,
                                          "due_at": step.due_at, "round": step.round}
    return IncidentStatus(incident, ordered, people, other, dict(totals), plan.area.zone, upcoming)


def timeline(ctx: Context, incident_id: int) -> list[dict[str, Any]]:
    get_incident(ctx, incident_id)
    with ctx.sessions() as session:
        return [
            {"at": e.at, "actor": e.actor, "kind": e.kind, "summary": e.summary, "reason": e.reason,
             "evidence": e.evidence}
            for e in store.audit_events(session, incident_id)
        ]


HANDLED = ("confirmed", "acknowledged", "duplicate", "repeat")


def inbound_messages(ctx: Context, limit: int = 50, only_unhandled: bool = True) -> list[dict[str, Any]]:
    ctx.require_schema()
    with ctx.sessions() as session:
        return [{"received_at": r.received_at, "from_number": r.from_number, "person_id": r.person_id,
                 "incident_id": r.incident_id, "outcome": r.outcome, "body": r.body}
                for r in store.recent_inbound(session, limit, HANDLED if only_unhandled else ())]
