"""Fixtures of the escalation tests. The web hook helpers (signed requests through the real ASGI app) and the CLI
helpers are the other test folders' own: their folders are put on the import path here, not copied."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for folder in (HERE.parent / "web", HERE.parent / "alerts"):
    if str(folder) not in sys.path:
        sys.path.append(str(folder))

from alerts_support import Cli, cli_runner  # noqa: E402
from web_hooks_support import AsgiClient, SignedClient, twilio_context  # noqa: E402

from responder.domain.clock import FakeClock  # noqa: E402
from responder.gateways.fake import FakeGateway  # noqa: E402
from responder.web import create_app  # noqa: E402
from responder.wiring import AppContext  # noqa: E402


@pytest.fixture
def web_ctx(sqlite_ctx: AppContext) -> AppContext:
    """The sample plan and roster on SQLite, as a Twilio deployment behind a public URL (signed web hooks)."""
    return twilio_context(sqlite_ctx)


@pytest.fixture
def gateway(clock: FakeClock) -> FakeGateway:
    return FakeGateway(clock=clock)


@pytest.fixture
def twilio(web_ctx: AppContext) -> Iterator[SignedClient]:
    """Posts to the real ASGI app the way Twilio does, signed with the real validator."""
    with AsgiClient(create_app(web_ctx)) as client:
        yield SignedClient(client)


@pytest.fixture
def cli(sqlite_ctx: AppContext, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock) -> Iterator[Cli]:
    """``responder --db URL --plan … --roster … ARGS`` in-process on the ``sqlite_ctx`` database, at the fake time."""
    for invoke in cli_runner(monkeypatch, tmp_path, clock, {"RESPONDER_GATEWAY": "fake"}):
        yield Cli(sqlite_ctx.settings.database_url, invoke)
