"""Creating and upgrading the database."""

from __future__ import annotations

from dataclasses import dataclass

from responder.app.ports import Context
from responder.storage import migrate


@dataclass(frozen=True)
class InitResult:
    url: str
    before: str | None
    after: str | None

    @property
    def created(self) -> bool:
        return self.before is None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def init_database(ctx: Context) -> InitResult:
    """Create or upgrade the schema; running it twice changes nothing the second time."""
    before, after = migrate.upgrade(ctx.engine)
    return InitResult(ctx.engine.url.render_as_string(hide_password=True), before, after)


def rebuild_state(ctx: Context, only_if_stale: bool = False) -> int | None:
    """Recompute the state kept per station as readings are stored (``readings_repo.rain_state``) from the
    readings' hourly totals, for the plan's zone and dry-day threshold; returns the gauges that have one.

    ``only_if_stale``: leave it alone (None) when it is already kept for them (``init`` on a database in use)."""
    from responder.domain.rules import snapshot_spec
    from responder.storage import readings_repo
    from responder.storage.db import transaction

    spec = snapshot_spec(ctx.plan.rules, ctx.plan.area.zone)
    with transaction(ctx.sessions) as session:
        if only_if_stale and readings_repo.state_is_kept(session, spec.zone, spec.dry_below_mm):
            return None
        return readings_repo.rebuild_state(session, spec.zone, spec.dry_below_mm)
