"""``GET /health``: database reachable, schema up to date, and what the running service reports of its parts."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from responder.app.ports import Context
from responder.domain.redact import redact
from responder.web.forms import log

HealthCheck = Callable[[], Mapping[str, Any]]


def _health_report(ctx: Context, head: Callable[[], str | None]) -> dict[str, Any]:
    """Database reachable and schema revision (``storage.db.probe``: it takes no lock)."""
    from responder.storage.db import probe

    error, current = probe(ctx.engine)
    if error is not None:
        return {"database": {"ok": False, "error": redact(error)[:300]},
                "schema": {"ok": False, "error": "database unreachable"}}
    report: dict[str, Any] = {"database": {"ok": True, "dialect": ctx.engine.dialect.name}}
    wanted = head()
    schema: dict[str, Any] = {"ok": current is not None and current == wanted, "current": current, "head": wanted}
    if current is None:
        schema["error"] = "the database is not set up: run `responder init`"
    elif current != wanted:
        schema["error"] = "run `responder db upgrade`"
    report["schema"] = schema
    return report


def _healthy(report: Mapping[str, Any]) -> bool:
    if report.get("ok") is False:
        return False
    return all(not (isinstance(part, Mapping) and part.get("ok") is False) for part in report.values())


def routes(ctx: Context, health: HealthCheck | None) -> list[Route]:
    head_cache: list[str | None] = []

    def head() -> str | None:
        if not head_cache:
            from responder.storage.migrate import head_revision

            head_cache.append(head_revision())
        return head_cache[0]

    async def health_endpoint(request: Request) -> Response:
        report = await run_in_threadpool(_health_report, ctx, head)
        if health is not None:
            try:
                extra = await run_in_threadpool(health)
                report.update(dict(extra))
            except Exception as exc:
                log.exception("health: the health callable failed")
                report["health_error"] = redact(f"{type(exc).__name__}: {exc}")[:300]
                report["ok"] = False
        healthy = _healthy(report)
        report["status"] = "ok" if healthy else "unhealthy"
        return Response(json.dumps(report, default=str, ensure_ascii=False), status_code=200 if healthy else 503,
                        media_type="application/json")

    return [Route("/health", health_endpoint, methods=["GET"])]
