"""Live updates: one poll of the database wakes every open board's event stream when something changes; a board
then fetches its page's live block only. And nothing of the board is reachable without signing in."""

from __future__ import annotations

import asyncio

import pytest
from board_support import BoardClient
from web_hooks_support import AsgiClient

from responder.app.alerts import raise_alert
from responder.app.confirm import acknowledge
from responder.web import create_app
from responder.web.board import Broadcaster
from responder.wiring import AppContext


async def next_event(stream: object) -> str:
    """The next event of a stream, skipping keep-alive comments."""
    while True:
        chunk = await asyncio.wait_for(anext(stream), 5)  # type: ignore[call-overload]
        if not chunk.startswith(":"):
            return str(chunk)


def test_every_open_board_hears_of_a_change_from_one_poll(sqlite_ctx: AppContext) -> None:
    polls: list[str] = []

    class Counting(Broadcaster):
        async def _watch(self) -> None:
            polls.append("start")
            await super()._watch()

    async def scenario() -> None:
        live = Counting(sqlite_ctx, poll=0.05, keepalive=0.2)
        boards = [live.events() for _ in range(5)]
        hellos = [await next_event(b) for b in boards]
        assert all(h.startswith("retry: 3000\nevent: hello\n") for h in hellos)
        assert live.listeners == 5 and polls == ["start"], "one watcher for all the boards"
        await asyncio.sleep(0.3)  # keep-alives only: nothing changed
        await asyncio.to_thread(raise_alert, sqlite_ctx, "flood", 3, "河水上涨", "tester")
        changes = await asyncio.gather(*(next_event(b) for b in boards))
        assert all(c.startswith("event: change\n") for c in changes) and len(set(changes)) == 1
        await asyncio.to_thread(acknowledge, sqlite_ctx, 1, "O003", "tester")
        again = await asyncio.gather(*(next_event(b) for b in boards))
        assert again[0] != changes[0], "a confirmation is a change too"
        await live.close()
        for board in boards:
            with pytest.raises(StopAsyncIteration):
                await next_event(board)
        assert live.listeners == 0

    asyncio.run(scenario())


def test_a_live_refresh_gets_the_pages_live_block_only(sqlite_ctx: AppContext, officer: BoardClient) -> None:
    raise_alert(sqlite_ctx, "flood", 3, "河水上涨", "tester")
    whole = officer.get("/?lang=en")
    block = officer.get("/?lang=en", headers={"X-Board-Live": "1"})
    assert whole.text.startswith("<!doctype html>") and not block.text.lstrip().startswith("<!doctype")
    assert 'id="incident-1"' in block.text and "<header" not in block.text
    form = officer.get("/actions/raise", headers={"X-Board-Live": "1"})
    assert 'data-live="0"' in officer.get("/actions/raise").text and form.status_code == 200


@pytest.mark.parametrize("path", ["/", "/incidents", "/incidents/1", "/stations", "/duty", "/board/events",
                                  "/actions/raise", "/no/such/page"])
def test_nothing_of_the_board_without_signing_in(sqlite_ctx: AppContext, path: str) -> None:
    with AsgiClient(create_app(sqlite_ctx)) as stranger:
        answer = stranger.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
        refused = stranger.post("/actions/raise", data={"step": "confirm", "hazard": "flood", "level": "2",
                                                        "reason": "x"})
        assert refused.status_code in (401, 403)


def test_boards_hearing_of_one_change_share_one_built_block(sqlite_ctx: AppContext) -> None:
    from board_fixtures import signed_in

    from responder.domain.board_users import Role

    app = create_app(sqlite_ctx)
    live: Broadcaster = app.state.board_live
    live.listeners, live.version = 1, "v1"  # as while the poll runs and has seen version v1
    for client in signed_in(sqlite_ctx, "officer2", Role.OFFICER, app):
        refresh = {"X-Board-Live": "1"}
        assert "#1" not in client.get("/?lang=en", headers=refresh).text
        raise_alert(sqlite_ctx, "flood", 3, "河水上涨", "tester")
        assert "#1 " not in client.get("/?lang=en", headers=refresh).text, "the block built for v1, shared"
        assert 'id="incident-1"' in client.get("/?lang=en").text, "a whole page is always built afresh"
        live.version = "v2"
        assert 'id="incident-1"' in client.get("/?lang=en", headers=refresh).text
        assert "当前没有" not in client.get("/?lang=zh", headers=refresh).text
