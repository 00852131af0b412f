"""The composition root: one process's settings, database, clock and plan, built once and handed to every part.

:class:`AppContext` satisfies the use cases' port (:class:`responder.app.ports.Context`); the CLI builds one from
the settings, tests and drills build theirs with a fake clock or a database of their own. Nothing below the CLI,
the web app and the drills imports this module: they are given a context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from responder.domain.clock import Clock, SystemClock
from responder.domain.errors import InputError, Problem
from responder.settings import Settings
from responder.storage.db import make_engine, session_factory, sqlite_path

if TYPE_CHECKING:  # imported where used: a command that never reads the plan file (alert status) skips YAML
    from responder.configfiles.plan_file import PlanFile
    from responder.domain.plan import Plan
    from responder.domain.roster import DutyRota


@dataclass
class AppContext:
    """The wiring of one process (a :class:`~responder.app.ports.Context`). Tests and drills build their own with a
    fake clock."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    engine_override: Engine | None = None
    plan_file_override: PlanFile | None = None
    """A plan already read (a drill's context shares its caller's): read once, not again."""
    _schema_ok: bool = field(default=False, init=False, repr=False)
    _plan_checked: bool = field(default=False, init=False, repr=False)
    _rota: tuple[int | None, DutyRota] | None = field(default=None, init=False, repr=False)

    @cached_property
    def engine(self) -> Engine:
        return self.engine_override or make_engine(self.settings.database_url,
                                                  busy_timeout=self.settings.database_busy_timeout_seconds)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @cached_property
    def plan_file(self) -> PlanFile:
        from responder.configfiles.plan_file import read_plan

        return self.plan_file_override or read_plan(self.settings.plan_file)

    @property
    def plan(self) -> Plan:
        """The plan, checked as ``plan check`` checks it (once per process): a command that acts on the plan
        refuses an invalid one with the same located errors. ``plan_file`` is the plan as read, unchecked."""
        if not self._plan_checked:
            if self.plan_file_override is None:  # an override was read, and checked, by the context that made it
                from responder.app.plan_in_force import load_checked_plan

                load_checked_plan(self)
            self._plan_checked = True
        return self.plan_file.plan

    def resolve(self, relative: str) -> Path:
        """A path named in the plan, relative to the folder that holds the plan's config/ folder.

        The working folder is only a fallback: ``--plan /elsewhere/config/plan.yaml`` must read the
        rota next to that plan, not a rota that happens to be in the current folder.
        """
        path = Path(relative)
        if path.is_absolute():
            return path
        beside_plan = self.settings.plan_file.resolve().parent.parent / path
        if beside_plan.exists() or not path.exists():
            return beside_plan
        return path

    def rota(self) -> DutyRota:
        """The duty rota, re-read only when its file changes (a long-running serve sees edits)."""
        from responder.configfiles.rota_csv import read_rota

        path = self.resolve(self.plan.duty.rota_file)
        stamp = path.stat().st_mtime_ns if path.exists() else None
        if self._rota is None or self._rota[0] != stamp:
            self._rota = (stamp, read_rota(path, self.plan.area.zone))
        return self._rota[1]

    def require_schema(self) -> None:
        """Refuse to work on a database that is not set up or not upgraded; checked once per process."""
        from responder.storage.migrate import current_revision, head_revision, newer_schema, unknown_revisions

        if self._schema_ok:
            return
        current = current_revision(self.engine)
        if current is None:
            path = sqlite_path(self.engine)
            folder = f" (its folder {path.parent} does not exist)" if path and not path.parent.is_dir() else ""
            raise InputError(Problem(f"the database {self.engine.url.render_as_string(hide_password=True)} is not set "
                                     f"up{folder}: run `responder init` first",
                                     field="RESPONDER_DATABASE_URL"))
        if unknown_revisions(current):
            raise newer_schema(current)
        if current != head_revision():
            raise InputError(Problem(f"the database schema is at {current}, this version needs {head_revision()}: "
                                     "run `responder db upgrade`", field="RESPONDER_DATABASE_URL"))
        self._schema_ok = True
