"""An incident's declared levels over time, read from its audit events (raised, upgraded, downgraded, ended).

The after-action report and the CAP export both tell this history; both read it through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

LEVEL_KINDS = ("raised", "upgraded", "downgraded", "ended")


@dataclass(frozen=True)
class LevelEvent:
    at: datetime
    kind: str
    """raised, upgraded, downgraded or ended."""
    from_level: int | None
    to_level: int | None
    """``None`` once the incident ended (stand-down)."""
    actor: str
    reason: str | None


AuditFacts = tuple[datetime, str, str, str | None, Mapping[str, Any]]
"""(at, kind, actor, reason, evidence) of one audit event."""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def level_events(events: Iterable[AuditFacts]) -> list[LevelEvent]:
    """The level changes among ``events`` (in time order), each with the level before and after."""
    out: list[LevelEvent] = []
    current: int | None = None
    for at, kind, actor, reason, evidence in events:
        if kind not in LEVEL_KINDS:
            continue
        if kind == "raised":
            before, after = None, _int(evidence.get("level"))
        elif kind == "ended":
            before, after = _int(evidence.get("level")) or current, None
        else:
            before, after = _int(evidence.get("from")) or current, _int(evidence.get("to"))
        out.append(LevelEvent(at, kind, before, after, actor, reason))
        current = after
    return out
