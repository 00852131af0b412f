"""The live blocks last rendered, shared by every board: when fifty boards hear of one change they ask for the same
block within a second, and it is built once (during a call-out the version changes every second or so).

A block is kept for the version the live-update poll last saw and for a few seconds at most (pages show the time
and staleness), per page, language and whether the viewer may act (which changes links and phone numbers).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from responder.web.board.access import may_act
from responder.web.board.live import Broadcaster

MAX_ENTRIES = 64


class LiveCache:
    def __init__(self, live: Broadcaster, language: Callable[[Request], str], ttl: float = 3.0) -> None:
        self.live, self.language, self.ttl = live, language, ttl
        self._blocks: dict[tuple[Any, ...], tuple[float, bytes]] = {}
        self.hits = 0

    def key(self, request: Request) -> tuple[Any, ...] | None:
        """Only live refreshes while the poll runs are shared (its version is then current)."""
        if request.headers.get("x-board-live") != "1" or not self.live.listeners or not self.live.version:
            return None
        query = tuple(sorted((k, v) for k, v in request.query_params.items() if k != "lang"))
        return request.url.path, query, self.language(request), may_act(request), self.live.version

    def get(self, key: tuple[Any, ...]) -> Response | None:
        found = self._blocks.get(key)
        if found is None or time.monotonic() - found[0] > self.ttl:
            return None
        self.hits += 1
        return HTMLResponse(found[1], headers={"Cache-Control": "no-store"})

    def put(self, key: tuple[Any, ...], response: Response) -> None:
        if len(self._blocks) >= MAX_ENTRIES:
            self._blocks.clear()
        self._blocks[key] = (time.monotonic(), bytes(response.body))

    async def serve(self, request: Request, build: Callable[[], Awaitable[Response]]) -> Response:
        """The shared block for this request if there is one, else ``build()``'s response (kept when it is 200)."""
        key = self.key(request)
        hit = self.get(key) if key else None
        if hit is not None:
            return hit
        response = await build()
        if key is not None and response.status_code == 200:
            self.put(key, response)
        return response
