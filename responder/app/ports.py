"""What a use case needs from the process it runs in, and nothing more.

Use cases take a :class:`Context`; the composition root (:mod:`responder.wiring`) builds the concrete one from
the settings, and drills build theirs with a virtual clock and a database of their own. Depending on this
protocol instead of on the wiring keeps ``app/`` below it: the wiring imports the use cases' needs, never the
other way round.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from responder.configfiles.plan_file import PlanFile
    from responder.domain.clock import Clock
    from responder.domain.plan import Plan
    from responder.domain.roster import DutyRota
    from responder.settings import Settings


class Context(Protocol):
    """Settings, the database, a clock and the plan in force: one process's (or one drill's) wiring."""

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def plan_file(self) -> PlanFile:
        """The plan as read, with where each part of it came from (for located problems)."""
        ...

    @property
    def plan(self) -> Plan: ...

    def resolve(self, relative: str) -> Path:
        """A path the plan names (rota, feed files), relative to the plan's folder."""
        ...

    def rota(self) -> DutyRota:
        """The duty rota in force, re-read when its file changes."""
        ...

    def require_schema(self) -> None:
        """Raise InputError unless the database is set up and upgraded."""
        ...
