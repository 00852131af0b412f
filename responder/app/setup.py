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
