"""`responder serve`: web hooks, the outbox dispatcher and (for the lease holder) the scheduler, in one process."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from responder.app.ports import Context
from responder.domain.redact import redact
from responder.gateways.base import Gateway
from responder.storage import outbox
from responder.storage.db import reading
from responder.storage.db_errors import first_line
from responder.worker.dispatcher import Dispatcher, default_worker_id
from responder.worker.outage import DatabaseWatch
from responder.worker.scheduler import SchedulerRunner

log = logging.getLogger(__name__)


class DispatcherLoop:
    """Keeps draining the outbox; each message is marked as soon as it is sent, so stopping loses nothing."""

    def __init__(self, ctx: Context, gateway: Gateway, worker_id: str, poll: float = 0.5,
                 watch: DatabaseWatch | None = None) -> None:
        self.ctx, self.gateway, self.worker_id, self.poll = ctx, gateway, worker_id, poll
        self.watch = watch or DatabaseWatch(ctx.settings.database_url, ctx.settings.database_retry_max_seconds)
        self.stop_event = threading.Event()
        self.last_pass: datetime | None = None
        self.sent = self.failed = 0
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="dispatcher", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            wait = self.poll
            try:
                dispatcher = Dispatcher(self.ctx, self.gateway, worker_id=self.worker_id,
                                        concurrency=self.ctx.settings.send_concurrency, watch=self.watch)
                stats = dispatcher.drain(stop=self.stop_event)
                self.watch.ok()
                self.sent += stats.sent
                self.failed += stats.failed
                self.error = None
            except Exception as exc:
                backoff = self.watch.failed(exc, "the dispatcher's pass")
                if backoff is None:  # not an outage: a fault worth its traceback
                    log.exception("dispatcher pass failed")
                wait = backoff if backoff is not None else wait
                self.error = redact(f"{type(exc).__name__}: {first_line(exc)}")
            self.last_pass = self.ctx.clock.now()
            self.stop_event.wait(wait)

    def stop(self) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def queue_health(ctx: Context) -> dict[str, Any]:
    with reading(ctx.engine) as conn:
        depth, oldest = outbox.queue_depth(conn)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    age = (ctx.clock.now() - oldest).total_seconds() if oldest else 0.0
    return {"queue_depth": int(depth), "oldest_unsent_age_seconds": round(age, 1)}


class Service:
    def __init__(self, ctx: Context, gateway: Gateway, scheduler: bool = True, dispatcher: bool = True,
                 lease_ttl: float = 30.0, renew_every: float = 5.0, sweep_every: float | None = None,
                 poll: float | None = None) -> None:
        self.ctx = ctx
        self.worker_id = ctx.settings.worker_id or default_worker_id()
        self.started = time.time()
        s = ctx.settings
        self.watch = DatabaseWatch(s.database_url, s.database_retry_max_seconds)
        """One per process: an outage is logged once however many loops meet it; /health shows it."""
        self.dispatcher = DispatcherLoop(ctx, gateway, self.worker_id, poll=poll or s.dispatcher_poll_seconds,
                                         watch=self.watch) if dispatcher else None
        self.scheduler = SchedulerRunner(ctx, self.worker_id, ttl=lease_ttl, renew_every=renew_every,
                                         sweep_every=sweep_every or s.scheduler_sweep_seconds,
                                         watch=self.watch) if scheduler else None

    def start(self) -> None:
        if self.dispatcher:
            self.dispatcher.start()
        if self.scheduler:
            self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler:
            self.scheduler.stop()
        if self.dispatcher:
            self.dispatcher.stop()

    def health(self) -> dict[str, Any]:
        out: dict[str, Any] = {"worker": self.worker_id, "uptime_seconds": round(time.time() - self.started),
                               "database_outage": self.watch.health()}
        if self.scheduler:
            out["scheduler"] = {"ok": True, **self.scheduler.health()}  # a standby is healthy too
        else:
            out["scheduler"] = {"ok": True, "role": "disabled"}
        if self.dispatcher:
            ok = self.dispatcher.alive and self.dispatcher.error is None
            out["dispatcher"] = {"ok": ok, "alive": self.dispatcher.alive, "sent": self.dispatcher.sent,
                                 "failed": self.dispatcher.failed, "error": self.dispatcher.error,
                                 "last_pass": self.dispatcher.last_pass.isoformat() if self.dispatcher.last_pass
                                 else None, **self._queue_health()}
        else:
            out["dispatcher"] = {"ok": True, "alive": False, "disabled": True}
        return out

    def _queue_health(self) -> dict[str, Any]:
        """The queue's depth and age; unknown while the database is away (the outage is reported beside it)."""
        if self.watch.unreachable:
            return {"queue_depth": None, "oldest_unsent_age_seconds": None}
        try:
            return queue_health(self.ctx)
        except Exception as exc:
            if self.watch.failed(exc, "the health check") is None:
                raise
            return {"queue_depth": None, "oldest_unsent_age_seconds": None}
