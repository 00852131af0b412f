"""What every incident use case starts from: the open incident, the plan and roster it was declared under, and
the sender its messages go from. (The duty officer on the rota is ``app.duty.duty_officer``.)"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from sqlalchemy.orm import Session

from responder.app.ports import Context
from responder.configfiles import plan_cache
from responder.domain.errors import Conflict, NotFound
from responder.domain.plan import Plan
from responder.domain.roster import Roster
from responder.storage import incidents as store
from responder.storage.models import IncidentRow


def sender_key(ctx: Context) -> str:
    """The sender the outbox rows name: the messaging service, else the from number, else the gateway's own."""
    s = ctx.settings
    return s.twilio_messaging_service_sid or s.twilio_from_number or "default"


def load_open(session: Session, incident_id: int, for_update: bool = True) -> IncidentRow:
    """The incident (locked for this transaction on PostgreSQL); NotFound, or Conflict once it has ended."""
    incident = store.incident_for_change(session, incident_id, for_update)
    if incident is None:
        raise NotFound(f"no incident #{incident_id}")
    if incident.status != "open":
        raise Conflict(f"incident #{incident_id} ({incident.code}) has already ended "
                       f"({incident.ended_at.isoformat() if incident.ended_at else ''})")
    return incident


_SNAPSHOTS: dict[str, tuple[Plan, Roster]] = {}


def _digest(plan_snapshot: Any, roster_snapshot: Any) -> str:
    return hashlib.sha256(json.dumps([plan_snapshot, roster_snapshot], sort_keys=True,
                                     ensure_ascii=False).encode()).hexdigest()


def snapshot_columns(plan_snapshot: dict[str, Any], roster_snapshot: list[Any]) -> dict[str, Any]:
    """The incident's snapshot columns, with the digest that lets readers skip parsing them."""
    return {"plan_snapshot": plan_snapshot, "roster_snapshot": roster_snapshot,
            "snapshot_digest": _digest(plan_snapshot, roster_snapshot)}


class HasSnapshots(Protocol):
    """An incident row, or anything that can read its snapshot columns when asked (a Core-only caller)."""

    @property
    def snapshot_digest(self) -> str | None: ...
    @property
    def plan_snapshot(self) -> dict[str, Any]: ...
    @property
    def roster_snapshot(self) -> list[Any]: ...


def snapshot_of(incident: HasSnapshots) -> tuple[Plan, Roster]:
    """The plan and roster the incident was declared under: later edits do not change it.

    The same snapshot is read on every reply and escalation step, and with thousands of people
    parsing it costs milliseconds: each distinct one is loaded and validated once per process,
    found again by the digest stored beside it (computed here for rows written before the digest).
    """
    key = incident.snapshot_digest or _digest(incident.plan_snapshot, incident.roster_snapshot)
    found = _SNAPSHOTS.get(key)
    if found is None:
        if len(_SNAPSHOTS) > 64:
            _SNAPSHOTS.clear()
        found = _SNAPSHOTS[key] = _validated_snapshot(incident, key)
    return found


def _validated_snapshot(incident: HasSnapshots, digest: str) -> tuple[Plan, Roster]:
    """Validated by an earlier process (``configfiles.plan_cache``, by the digest), else here and kept for the next."""
    return plan_cache.kept(
        plan_cache.key("incident snapshot", digest),
        lambda: (Plan.model_validate(incident.plan_snapshot), Roster.from_list(incident.roster_snapshot)),
        lambda got: (isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], Plan)
                     and isinstance(got[1], Roster)))
