"""The board's pages: Now, Incident, Stations, Duty, and the 404 and 403 pages.

Each reads through :mod:`responder.app.board` (the same use cases as ``alert status``, ``alert timeline``,
``feeds check`` and ``duty now``) off the event loop, and renders.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from responder.app import board
from responder.app.ports import Context
from responder.app.status import list_incidents
from responder.domain.errors import NotFound
from responder.web.board import svg
from responder.web.board.cache import LiveCache
from responder.web.board.live import Broadcaster
from responder.web.board.rendering import language_of, render

INCIDENT_ID = re.compile(r"^[0-9]{1,9}$")
MANY_STATIONS = 60
"""Above this many stations the map names none (a title on hover instead): labels would cover the drawing."""


def incident_id(raw: object) -> int:
    """A path's incident id; anything that is not one is a 404, like an id nobody raised."""
    text = str(raw)
    if not INCIDENT_ID.match(text):
        raise NotFound(f"no incident {text[:20]!r}")
    return int(text)


def not_found_page(ctx: Context, request: Request, what: str = "") -> Response:
    return render(ctx, request, "message.html", status_code=404, heading="not_found", detail=what)


def forbidden_page(ctx: Context, request: Request) -> Response:
    return render(ctx, request, "message.html", status_code=403, heading="forbidden", detail="")


class Pages:
    """The page handlers; a live refresh is served from the block another board had built for the same version."""

    def __init__(self, ctx: Context, live: Broadcaster) -> None:
        self.ctx = ctx
        self.cache = LiveCache(live, lambda request: language_of(request, ctx.plan_file.plan))

    async def now(self, request: Request) -> Response:
        async def build() -> Response:
            view = await run_in_threadpool(board.now_view, self.ctx)
            return render(self.ctx, request, "now.html", view=view, done=request.query_params.get("done", ""))

        return await self.cache.serve(request, build)

    async def incidents(self, request: Request) -> Response:
        rows = await run_in_threadpool(list_incidents, self.ctx, True, 200)
        return render(self.ctx, request, "incidents.html", rows=rows)

    async def incident(self, request: Request) -> Response:
        async def build() -> Response:
            try:
                number = incident_id(request.path_params["incident_id"])
                view = await run_in_threadpool(board.incident_view, self.ctx, number)
            except NotFound as exc:
                return not_found_page(self.ctx, request, str(exc))
            return render(self.ctx, request, "incident.html", view=view, done=request.query_params.get("done", ""))

        return await self.cache.serve(request, build)

    async def stations(self, request: Request) -> Response:
        async def build() -> Response:
            view = await run_in_threadpool(board.stations_view, self.ctx)
            return render(self.ctx, request, "stations.html", view=view, chart=svg.chart,
                          area_map=self._map(request, view), span=board.CHART_SPAN)

        return await self.cache.serve(request, build)

    def _map(self, request: Request, view: board.StationsView) -> Any:
        from responder.web.board.rendering import Page

        page = Page(self.ctx, request)
        label = len(view.stations) <= MANY_STATIONS

        def state(line: board.StationLine) -> str:
            if line.snapshot.stale:
                return "stale"
            over = any(t.margin is not None and t.margin <= 0 for t in line.thresholds)
            return "over" if over else "ok"

        stations = [(line.station, page.name(line.station.name) if label else "", state(line))
                    for line in view.stations]
        zones = [(zone, page.name(zone.stretch)) for zone in page.plan.evacuation_zones]
        return svg.area_map(stations, zones)

    async def duty(self, request: Request) -> Response:
        view = await run_in_threadpool(board.duty_view, self.ctx)
        return render(self.ctx, request, "duty.html", view=view)

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's 404 (no such route) and 405 as board pages; the Twilio hooks answer their own errors."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 404:
            return not_found_page(self.ctx, request, request.url.path[:80])
        return Response(f"{status}\n", status_code=status, media_type="text/plain")
