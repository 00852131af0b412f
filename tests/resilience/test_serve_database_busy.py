"""`serve`'s dispatcher meets SQLite locked past its busy timeout (another process holds the write lock): it waits
and retries, ``/health`` says the database is unavailable (503, the flag and the counters) and, once the lock is
let go, the call-out goes out and ``/health`` is back to 200."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import httpx
from process_support import wait_for
from starlette.applications import Starlette

from responder.app.alerts import raise_alert
from responder.domain.clock import FakeClock
from responder.gateways.fake import FakeGateway
from responder.web.app import create_app
from responder.wiring import AppContext
from responder.worker.dispatcher import pending_count
from responder.worker.service import Service


def _health(app: Starlette) -> tuple[int, dict[str, Any]]:
    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve") as client:
            return await client.get("/health")

    response = anyio.run(get)
    return response.status_code, response.json()


def test_serve_rides_out_a_locked_sqlite_database_and_says_so_on_health(sqlite_ctx: AppContext,
                                                                         clock: FakeClock) -> None:
    settings = sqlite_ctx.settings.model_copy(update={"database_busy_timeout_seconds": 0.2,
                                                      "database_retry_max_seconds": 0.3})
    ctx = AppContext(settings, clock=clock)  # an engine of its own, with the short busy timeout
    path = Path(settings.database_url.removeprefix("sqlite:///"))
    raise_alert(ctx, "flood", 2, "龙河超警", "duty officer")
    queued = pending_count(ctx)
    gateway = FakeGateway(clock=clock)
    service = Service(ctx, gateway, scheduler=False, poll=0.1)
    app = create_app(ctx, health=service.health)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        service.start()
        wait_for(lambda: service.watch.unreachable, 15, "the dispatcher to find the database busy")
        status, body = _health(app)
        assert status == 503 and body["database_outage"]["unreachable"] is True, body
        assert "busy" in body["database_outage"]["reason"] and body["dispatcher"]["alive"] is True
        assert len(gateway.sms) == 0 and pending_count(ctx) == queued
        holder.rollback()
        wait_for(lambda: pending_count(ctx) == 0 and not service.watch.unreachable, 15, "the call-out to go out")
        # The dispatcher's own error clears with its next whole pass, a moment after the watch's flag.
        status, body = wait_for(lambda: (h := _health(app))[0] == 200 and h, 10, "/health to be 200 again")
        outage = body["database_outage"]
        assert outage["ok"] is True and outage["outages_total"] == 1 and outage["failed_tries_total"] >= 1
        assert len({r.to for r in gateway.sms}) == queued == len(gateway.sms), "each message once"
    finally:
        holder.close()
        service.stop()
        ctx.engine.dispose()
