"""The webhooks app on a real SQLite database, configured for Twilio, and a client that signs like Twilio."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from board_fixtures import officer, viewer  # noqa: F401 - the board's signed-in clients, for the tests here
from web_hooks_support import AsgiClient, SignedClient, twilio_context

from responder.web import create_app
from responder.wiring import AppContext


@pytest.fixture
def web_ctx(sqlite_ctx: AppContext) -> AppContext:
    return twilio_context(sqlite_ctx)


@pytest.fixture
def twilio(web_ctx: AppContext) -> Iterator[SignedClient]:
    with AsgiClient(create_app(web_ctx)) as client:
        yield SignedClient(client)
