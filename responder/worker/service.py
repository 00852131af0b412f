"""`responder serve`: web hooks, the outbox dispatcher and (for the lease holder) the scheduler, in one process."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from responder.app.ports import Context
from responder.gateways.base import Gateway
from responder.storage import outbox
from responder.storage.db import reading
from responder.worker.dispatcher import Dispatcher, default_worker_id
from responder.worker.scheduler import SchedulerRunner

log = logging.getLogger(__name__)


class DispatcherLoop:
    """Keeps draining the outbox; each message is marked as soon as it is sent, so stopping loses nothing."""

    def __init__(self, ctx: Context, gateway: Gateway, worker_id: str, poll: float = 0.5) -> None:
        self.ctx, self.gateway, self.worker_id, self.poll = ctx, gateway, worker_id, poll
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
            try:
                dispatcher = Dispatcher(self.ctx, self.gateway, worker_id=self.worker_id,
                                        concurrency=self.ctx.settings.send_concurrency)
                stats = dispatcher.drain(stop=self.stop_event)
                self.sent += stats.sent
                self.failed += stats.failed
                self.error = None
            except Exception as exc:
                log.exception("dispatcher pass failed")
                self.error = f"{type(exc).__name__}: {exc}"
            self.last_pass = self.ctx.clock.now()
            self.stop_event.wait(self.poll)

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
        self.dispatcher = DispatcherLoop(ctx, gateway, self.worker_id, poll=poll or s.dispatcher_poll_seconds) \
            if dispatcher else None
        self.scheduler = SchedulerRunner(ctx, self.worker_id, ttl=lease_ttl, renew_every=renew_every,
                                         sweep_every=sweep_every or s.scheduler_sweep_seconds) if scheduler else None

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
        out: dict[str, Any] = {"worker": self.worker_id, "uptime_seconds": round(time.time() - self.started)}
        if self.scheduler:
            out["scheduler"] = {"ok": True, **self.scheduler.health()}  # a standby is healthy too
        else:
            out["scheduler"] = {"ok": True, "role": "disabled"}
        if self.dispatcher:
            ok = self.dispatcher.alive and self.dispatcher.error is None
            out["dispatcher"] = {"ok": ok, "alive": self.dispatcher.alive, "sent": self.dispatcher.sent,
                                 "failed": self.dispatcher.failed, "error": self.dispatcher.error,
                                 "last_pass": self.dispatcher.last_pass.isoformat() if self.dispatcher.last_pass
                                 else None, **queue_health(self.ctx)}
        else:
            out["dispatcher"] = {"ok": True, "alive": False, "disabled": True}
        return out
