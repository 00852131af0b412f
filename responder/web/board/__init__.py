"""The duty board: server-rendered pages of what is happening, and the officer's actions, beside the Twilio hooks.

* :mod:`.pages`: ``/`` (Now), ``/incidents``, ``/incidents/{id}``, ``/stations``, ``/duty``;
* :mod:`.actions`: ``/actions/{name}`` (form, preview, confirm) for raise, upgrade, downgrade, stand down,
  confirm or reject a proposal, a confirmation taken by phone, the next escalation step now;
* :mod:`.live`: ``/board/events``, Server-Sent Events telling open boards that something changed;
* ``/static/board/``: the stylesheet and the few lines of script, shipped in the package (no CDN, no fonts).

Who is signed in, and whether they may act, is asked of :mod:`.access` only.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from responder.app.ports import Context
from responder.web.board.actions import Actions
from responder.web.board.live import Broadcaster
from responder.web.board.pages import Pages

__all__ = ["Broadcaster", "routes"]
from responder.web.board.rendering import STATIC


def routes(ctx: Context, live: Broadcaster) -> tuple[list[BaseRoute], Pages]:
    """The board's routes, and its pages (whose ``http_error`` renders the 404 page for the whole app)."""
    pages, actions = Pages(ctx, live), Actions(ctx)
    return [
        Route("/", pages.now, methods=["GET"]),
        Route("/incidents", pages.incidents, methods=["GET"]),
        Route("/incidents/{incident_id}", pages.incident, methods=["GET"]),
        Route("/stations", pages.stations, methods=["GET"]),
        Route("/duty", pages.duty, methods=["GET"]),
        Route("/actions/{name}", actions.show, methods=["GET"]),
        Route("/actions/{name}", actions.act, methods=["POST"]),
        Route("/board/events", live.endpoint, methods=["GET"]),
        Mount("/static/board", app=StaticFiles(directory=STATIC), name="board-static"),
    ], pages
