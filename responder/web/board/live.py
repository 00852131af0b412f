"""Live updates by Server-Sent Events: one poll of the database serves every open board.

A single task asks :func:`responder.app.board.board_fingerprint` every ``poll`` seconds while at least one
board is listening, and wakes the listeners when it changes; each board then fetches its page's live block.
An idle board costs a keep-alive comment every ``keepalive`` seconds and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from responder.app.board import board_fingerprint
from responder.app.ports import Context

log = logging.getLogger("responder.web.board")


class Broadcaster:
    def __init__(self, ctx: Context, poll: float = 1.0, keepalive: float = 15.0) -> None:
        self.ctx, self.poll, self.keepalive = ctx, poll, keepalive
        self.version = ""
        self.listeners = 0
        self.closed = False
        self._changed: asyncio.Condition | None = None
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        assert self._changed is not None
        while self.listeners:
            try:
                version = await run_in_threadpool(board_fingerprint, self.ctx)
            except Exception:  # a database hiccup must not end live updates for good
                log.exception("board: the live-update poll failed")
                version = self.version
            if version != self.version:
                self.version = version
                async with self._changed:
                    self._changed.notify_all()
            await asyncio.sleep(self.poll)
        self._task = None

    def _start(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch())
        return self._changed

    async def events(self) -> AsyncIterator[str]:
        """The event stream of one board: ``change`` events with the new version, comments to keep it open."""
        self.listeners += 1
        try:
            changed = self._start()
            if not self.version:
                self.version = await run_in_threadpool(board_fingerprint, self.ctx)
            seen = self.version
            yield f"retry: 3000\nevent: hello\ndata: {seen}\n\n"
            while not self.closed:
                async with changed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), self.keepalive)
                if self.closed:
                    break
                if self.version != seen:
                    seen = self.version
                    yield f"event: change\ndata: {seen}\n\n"
                else:
                    yield ": keep-alive\n\n"
        finally:
            self.listeners -= 1

    async def close(self) -> None:
        """End every open stream (the server is stopping: they would otherwise hold its shutdown up)."""
        self.closed = True
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    async def endpoint(self, request: Request) -> StreamingResponse:
        return StreamingResponse(self.events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
