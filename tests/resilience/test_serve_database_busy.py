"""`serve`'s dispatcher meets SQLite locked past its busy timeout (another process holds the write lock): it waits
and retries, ``/health`` says the database is unavailable (503, the flag and the counters) and, once the lock is
let go, the call-out goes out and ``/health`` is back to 200."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import httpx
from conftest import make_context
from process_support import wait_for
from starlette.applications import Starlette

from responder.app.alerts import raise_alert
from responder.app.contacts import import_contacts
from responder.app.setup import init_database
from responder.domain.clock import FakeClock
from responder.gateways.fake import FakeGateway
from responder.web.app import create_app
from responder.worker.dispatcher import pending_count
from responder.worker.service import Service


def _health(app: Starlette) -> tuple[int, dict[str, Any]]:
    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve") as client:
            return await client.get("/health")

    response = anyio.run(get)
    return response.status_code, response.json()


def test_serve_rides_out_a_locked_sqlite_database_and_says_so_on_health(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "responder.db"
    ctx = make_context(f"sqlite:///{path}", clock, database_busy_timeout_seconds=0.2,
                       database_retry_max_seconds=0.3)
    init_database(ctx)
    import_contacts(ctx, ctx.settings.roster_file)
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
        status, body = _health(app)
        assert status == 200, body
        outage = body["database_outage"]
        assert outage["ok"] is True and outage["outages_total"] == 1 and outage["failed_tries_total"] >= 1
        assert len({r.to for r in gateway.sms}) == queued == len(gateway.sms), "each message once"
    finally:
        holder.close()
        service.stop()
        ctx.engine.dispose()
