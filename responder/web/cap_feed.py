"""The public warning feed ``responder serve`` publishes: read-only, no login, for alerting hubs to poll.

* ``GET /cap/feed.atom``: an Atom index of the current messages (the latest of each incident, until it
  expires), drills only if the plan in force says ``cap.public_drills``.
* ``GET /cap/{identifier}.xml``: one message (``application/cap+xml``), any of an incident's messages
  (Updates reference earlier ones, which must stay retrievable); 404 for unknown ids and hidden drills.

Messages are signed when a key is configured (``RESPONDER_CAP_SIGNING_KEY_FILE``); a broken key
configuration stops ``serve`` at start-up rather than on a hub's first poll.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from responder.app.cap_export import checked_xml, current_messages, published_message
from responder.app.ports import Context
from responder.cap.atom import ATOM_MEDIA_TYPE, CAP_MEDIA_TYPE, FeedEntry, FeedHead, feed_xml
from responder.cap.signing import signing_key
from responder.domain.cap_model import cap_time
from responder.domain.plan import pick

log = logging.getLogger(__name__)
T = TypeVar("T")
IDENTIFIER = re.compile(r"^[A-Za-z0-9._@-]{1,200}$")
CACHE = "public, max-age=60"
"""Hubs poll every minute or so; a minute's cache spares the database without hiding a new warning long."""


def _not_found() -> Response:
    return Response("no such CAP message\n", status_code=404, media_type="text/plain")


async def _run(fn: Callable[..., T], *args: object) -> T | Response:
    try:
        return await run_in_threadpool(fn, *args)
    except (DBAPIError, PoolTimeout):
        log.exception("CAP feed: database error")
        return Response("database unavailable\n", status_code=503, media_type="text/plain")


def cap_routes(ctx: Context) -> list[Route]:
    """The routes, to add to the app of ``responder serve``."""
    sign = signing_key(ctx.settings) is not None

    def base(request: Request) -> str:
        return (ctx.settings.public_url or str(request.base_url)).rstrip("/")

    def feed(base_url: str) -> bytes:
        plan = ctx.plan
        lang = plan.default_language
        messages = current_messages(ctx)
        author = pick(plan.cap.sender_name, lang) if plan.cap else pick(plan.area.name, lang)
        newest = max(messages, key=lambda m: m.sent_at, default=None)
        updated = newest.sent if newest else cap_time(ctx.clock.now().astimezone(plan.area.zone))
        head = FeedHead(url=f"{base_url}/cap/feed.atom", title=f"{pick(plan.area.name, lang)}: public warnings (CAP)",
                        author=author, updated=updated)
        entries = [FeedEntry(m, f"{base_url}/cap/{m.identifier}.xml") for m in messages]
        tag = plan.cap.language_tag(lang) if plan.cap else None
        return feed_xml(head, entries, tag)

    def message(identifier: str) -> bytes | None:
        found = published_message(ctx, identifier)
        return checked_xml([found], sign, ctx)[0] if found is not None else None

    async def feed_endpoint(request: Request) -> Response:
        body = await _run(feed, base(request))
        if isinstance(body, Response):
            return body
        return Response(body, media_type=f"{ATOM_MEDIA_TYPE}; charset=utf-8", headers={"Cache-Control": CACHE})

    async def message_endpoint(request: Request) -> Response:
        identifier = str(request.path_params.get("identifier", ""))
        if not IDENTIFIER.match(identifier):
            return _not_found()
        body = await _run(message, identifier)
        if isinstance(body, Response):
            return body
        if body is None:
            return _not_found()
        return Response(body, media_type=f"{CAP_MEDIA_TYPE}; charset=utf-8", headers={"Cache-Control": CACHE})

    return [Route("/cap/feed.atom", feed_endpoint, methods=["GET"]),
            Route("/cap/{identifier}.xml", message_endpoint, methods=["GET"])]
