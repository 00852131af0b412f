"""The state of the service as the database holds it, for ``/healthz`` and ``/metrics``: read at each request, so
that every worker behind a load balancer gives the same answer, and cheap (four aggregate queries, no lock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from responder.app.ports import Context
from responder.storage import service_figures as figures
from responder.storage.db import reading

SCHEDULER_LEASE = "scheduler"
"""The lease the scheduler's leader holds (``worker.scheduler.LEASE``)."""
SEND_RATE_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class FeedState:
    feed: str
    last_ok_at: datetime | None
    last_error_at: datetime | None
    staleness_seconds: float | None
    """Since the last successful read; None if it never succeeded."""


@dataclass(frozen=True, slots=True)
class ServiceState:
    at: datetime
    outbox: list[figures.OutboxState]
    leader: str | None
    leader_until: datetime | None
    feeds: list[FeedState]
    open_incidents: list[tuple[str, int, bool, int]]
    """(hazard, level, drill, count)."""
    levels: list[int]
    hazards: list[str]

    @property
    def backlog(self) -> int:
        """Messages due by now and not yet handed to the provider."""
        return sum(s.due for s in self.outbox if figures.is_unsent(s.status))

    @property
    def backlog_age_seconds(self) -> float:
        """How long the longest-waiting unsent message has been due (0 with no backlog)."""
        oldest = [s.oldest_due_at for s in self.outbox if figures.is_unsent(s.status) and s.oldest_due_at]
        return max(0.0, (self.at - min(oldest)).total_seconds()) if oldest else 0.0

    @property
    def send_rate_per_second(self) -> float:
        """Messages the provider accepted per second over the last five minutes."""
        return sum(s.handed_over_since for s in self.outbox) / SEND_RATE_WINDOW.total_seconds()


def service_state(ctx: Context) -> ServiceState:
    """Raises whatever the database raises when it cannot be reached: the caller reports it."""
    now = ctx.clock.now()
    with reading(ctx.engine) as conn:
        outbox = figures.outbox_states(conn, now, now - SEND_RATE_WINDOW)
        lease = figures.lease_holder(conn, SCHEDULER_LEASE, now)
        health = figures.feed_health(conn)
        incidents = figures.open_incidents(conn)
    plan = ctx.plan_file.plan
    feeds = [FeedState(feed, ok, error, (now - ok).total_seconds() if ok else None)
             for feed in sorted({f.id for f in plan.feeds} | set(health))
             for ok, error in [health.get(feed, (None, None))]]
    return ServiceState(now, outbox, lease[0] if lease else None, lease[1] if lease else None, feeds, incidents,
                        sorted(level.level for level in plan.levels), sorted(h.id for h in plan.hazards))
