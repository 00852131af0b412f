"""APScheduler 3.x on the project's database, run only by the holder of the scheduler lease."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, timedelta
from typing import Any

from responder.app.ports import Context
from responder.worker import jobs
from responder.worker.lease import LeaseState, release, try_acquire
from responder.worker.outage import DatabaseWatch

log = logging.getLogger(__name__)

LEASE = "scheduler"
JOB_TABLE = "apscheduler_jobs"


class SchedulerRunner:
    """Holds or waits for the scheduler lease; starts APScheduler when it gets it, stops when it loses it."""

    def __init__(self, ctx: Context, holder: str, ttl: float = 30.0, renew_every: float = 5.0,
                 sweep_every: float = 10.0, watch: DatabaseWatch | None = None) -> None:
        self.ctx = ctx
        self.watch = watch or DatabaseWatch(ctx.settings.database_url, ctx.settings.database_retry_max_seconds)
        self.holder = holder
        self.ttl = timedelta(seconds=ttl)
        self.renew_every = renew_every
        self.sweep_every = sweep_every
        self.state = LeaseState(False, None, None)
        self._asked = False
        """Whether the lease has been tried yet: until then this worker is neither leader nor standby."""
        self.scheduler: Any = None
        self._scheduled: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.message = "starting"

    # -- leadership loop ------------------------------------------------------------------------------------
    def start(self) -> None:
        jobs.Runtime.ctx = self.ctx
        jobs.Runtime.after_sweep = self.schedule_new_steps
        jobs.Runtime.watch = self.watch
        logging.getLogger("apscheduler.scheduler").addFilter(self._job_store_outage)
        self._thread = threading.Thread(target=self._loop, name="scheduler-lease", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            wait = self.renew_every
            try:
                self.tick()
                self.watch.ok()
            except Exception as exc:
                backoff = self.watch.failed(exc, "the scheduler lease")
                if backoff is None:
                    log.exception("scheduler lease check failed")
                else:  # the lease expires on its own if the outage outlasts it: a standby may take over then
                    wait = min(backoff, self.renew_every)
                    self.message = f"database unreachable: {self.watch.reason}"
            self._stop.wait(wait)

    def _job_store_outage(self, record: logging.LogRecord) -> bool:
        """APScheduler logs its job store's failure every retry: during an outage the watch's one line says it."""
        args = record.args if isinstance(record.args, tuple) else ()
        error = args[-1] if args and isinstance(args[-1], BaseException) else None
        if error is None or not str(record.msg).startswith("Error getting due jobs"):
            return True
        return self.watch.failed(error, "the scheduler's job store") is None

    def tick(self) -> None:
        state = try_acquire(self.ctx, LEASE, self.holder, self.ttl)
        was = self.state.held
        self.state = state
        self._asked = True
        if state.held and not was:
            log.info("scheduler lease taken by %s", self.holder)
            self._start_scheduler()
        elif not state.held and was:
            log.warning("scheduler lease lost to %s: stopping the scheduler", state.holder)
            self._stop_scheduler()
        if not state.held:
            until = state.expires_at.isoformat() if state.expires_at else "?"
            self.message = (f"standby: another worker ({state.holder}) runs the scheduler on this database "
                            f"(lease until {until}); a second scheduler on one job store would run jobs twice")
        else:
            self.message = "leader"

    def stop(self) -> None:
        logging.getLogger("apscheduler.scheduler").removeFilter(self._job_store_outage)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._stop_scheduler()
        if self.state.held:
            try:
                release(self.ctx, LEASE, self.holder)
            except Exception as exc:  # the database is away: the lease expires on its own
                if self.watch.failed(exc, "releasing the scheduler lease") is None:
                    raise
            self.state = LeaseState(False, None, None)

    # -- APScheduler ----------------------------------------------------------------------------------------
    def _start_scheduler(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        with self._lock:
            if self.scheduler is not None:
                return
            scheduler = BackgroundScheduler(
                jobstores={"default": SQLAlchemyJobStore(engine=self.ctx.engine, tablename=JOB_TABLE)},
                executors={"default": ThreadPoolExecutor(4)},
                job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
                timezone=UTC,
            )
            scheduler.start()
            scheduler.add_job(jobs.sweep, "interval", seconds=self.sweep_every, id="sweep", replace_existing=True,
                              next_run_time=self.ctx.clock.now())
            self._schedule_feeds(scheduler)
            self._scheduled = {int(j.id.removeprefix("esc-")) for j in scheduler.get_jobs() if j.id.startswith("esc-")}
            self.scheduler = scheduler
        self.schedule_new_steps()

    def _schedule_feeds(self, scheduler: Any) -> None:
        """Each feed polled at its own interval; a rules-only check keeps staleness and manual reports current."""
        plan = self.ctx.plan
        wanted = {f"feed-{f.id}" for f in plan.feeds if f.kind != "manual"} | {"rules"}
        for job in scheduler.get_jobs():
            if job.id.startswith("feed-") and job.id not in wanted:
                job.remove()  # a feed taken out of the plan
        for feed in plan.feeds:
            if feed.kind != "manual":
                scheduler.add_job(jobs.feed_cycle, "interval", seconds=feed.interval.total_seconds(),
                                  id=f"feed-{feed.id}", args=[feed.id], replace_existing=True)
        shortest = min((s.interval for s in plan.stations), default=None)
        if shortest is not None:
            scheduler.add_job(jobs.feed_cycle, "interval", seconds=max(60.0, shortest.total_seconds()), id="rules",
                              args=[None], replace_existing=True)

    def _stop_scheduler(self) -> None:
        with self._lock:
            if self.scheduler is not None:
                self.scheduler.shutdown(wait=True)
                self.scheduler = None

    def schedule_new_steps(self) -> int:
        """A timed job per pending escalation step, carrying the step's id."""
        from responder.app.escalation import pending_steps

        with self._lock:
            scheduler = self.scheduler
        if scheduler is None:
            return 0
        added = 0
        now = self.ctx.clock.now()
        for step_id, due in pending_steps(self.ctx):
            if step_id in self._scheduled or due <= now:
                continue  # overdue steps are run by the sweep
            scheduler.add_job(jobs.escalation_step, "date", run_date=due, args=[step_id], id=f"esc-{step_id}",
                              replace_existing=True)
            self._scheduled.add(step_id)
            added += 1
        return added

    def health(self) -> dict[str, Any]:
        scheduler = self.scheduler
        role = "leader" if self.state.held else "standby" if self._asked else "starting"
        return {"role": role, "holder": self.state.holder,
                "running": bool(scheduler and scheduler.running), "message": self.message,
                "jobs": len(scheduler.get_jobs()) if scheduler else 0}
