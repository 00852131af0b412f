"""Scheduler job functions. APScheduler stores them by reference with the ids they act on.

Each job re-reads its target and checks that it still applies (the step still pending, the
incident still open at that level) before acting, so a late or repeated run is harmless.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec

from responder.app.ports import Context

if TYPE_CHECKING:
    from responder.worker.outage import DatabaseWatch

log = logging.getLogger(__name__)


class Runtime:
    """The process's context, set by the scheduler runner (job stores hold references, not objects)."""

    ctx: Context | None = None
    after_sweep: Callable[[], object] | None = None
    watch: DatabaseWatch | None = None
    """The process's database watch: a job that meets an outage is noted there (one line per outage), not logged
    with a traceback; an interval job runs again at its next time, an escalation step by the sweep once it is due."""


P = ParamSpec("P")


def _rides_out_outages(job: Callable[P, None]) -> Callable[P, None]:
    @functools.wraps(job)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            job(*args, **kwargs)
        except Exception as exc:
            watch = Runtime.watch
            if watch is None or watch.failed(exc, f"the {job.__name__} job") is None:
                raise
        else:
            if Runtime.watch is not None:
                Runtime.watch.ok()

    return run


def _ctx() -> Context:
    if Runtime.ctx is None:
        raise RuntimeError("scheduler jobs need responder serve's context")
    return Runtime.ctx


@_rides_out_outages
def escalation_step(step_id: int) -> None:
    from responder.app.escalation import run_step

    outcome = run_step(_ctx(), step_id)
    if outcome is not None:
        log.info("escalation step %s (%s) on incident #%s: %s", step_id, outcome.action, outcome.incident_id,
                 outcome.detail)


@_rides_out_outages
def sweep() -> None:
    """Run anything overdue (e.g. steps that fell due while no scheduler ran) and schedule new steps."""
    from responder.app.escalation import run_due

    for outcome in run_due(_ctx()):
        log.info("overdue step %s (%s) on incident #%s: %s", outcome.step_id, outcome.action, outcome.incident_id,
                 outcome.detail)
    if Runtime.after_sweep is not None:
        Runtime.after_sweep()


@_rides_out_outages
def feed_cycle(feed_id: str | None = None) -> None:
    """Poll one feed (or, with None, only re-evaluate the rules and staleness) and act on the rules."""
    from responder.app.feed_cycle import CycleReport, evaluate_rules, run_cycle

    ctx = _ctx()
    report = evaluate_rules(ctx, CycleReport(ctx.clock.now())) if feed_id is None else run_cycle(ctx, [feed_id])
    for check in report.feeds:
        if not check.ok:
            log.warning("feed %s: %s", check.feed, check.error)
    for p in report.proposals:
        log.info("rules: P%s %s %s level %s", p.proposal_id, p.status, p.action, p.level)
