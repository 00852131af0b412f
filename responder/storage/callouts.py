"""Each person's call-out history: one row per call-out and per change of it with the level.

Written in the transaction that changes the level (with the recipients, the outbox and the audit event), so that
the history and the state can never disagree; read by the after-action reports, which count who was called, at
which levels and for which groups, from it rather than from the recipients' latest assignments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select

from responder.domain.incidents import Assignment
from responder.storage.models import CalloutRow

CALLOUTS: Table = CalloutRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Callout:
    at: datetime
    level: int
    groups: tuple[str, ...]
    zones: tuple[str, ...]

    @property
    def tasked(self) -> bool:
        """Called for a task (a group or an evacuation zone), not released nor only told as a rung of the chain."""
        return bool(self.groups or self.zones)


def callout_rows(incident_id: int, assignments: Mapping[str, Iterable[Assignment | Mapping[str, Any]]], level: int,
                 now: datetime) -> list[dict[str, Any]]:
    """The history rows of one level change: person id → the assignments the person now has."""
    rows = []
    for pid, given in assignments.items():
        items = [a if isinstance(a, Assignment) else Assignment.from_dict(a) for a in given]
        rows.append({"incident_id": incident_id, "person_id": pid, "level": level, "at": now,
                     "groups": list(dict.fromkeys(a.group for a in items if a.group)),
                     "zones": list(dict.fromkeys(a.zone for a in items if a.zone))})
    return rows


def history(db: Any, incident_id: int) -> dict[str, list[Callout]]:
    """person id → their call-outs in order (``db``: a Session or a Connection)."""
    out: dict[str, list[Callout]] = defaultdict(list)
    query = (select(CalloutRow.person_id, CalloutRow.at, CalloutRow.level, CalloutRow.groups, CalloutRow.zones)
             .where(CalloutRow.incident_id == incident_id).order_by(CalloutRow.id))
    for pid, at, level, groups, zones in db.execute(query):
        out[pid].append(Callout(at, level, tuple(groups or ()), tuple(zones or ())))
    return dict(out)
