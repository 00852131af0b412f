"""Fixtures of the board's tests: the real app on the sample plan and roster (SQLite), an officer signed in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from board_support import AsUser, User
from web_hooks_support import AsgiClient

from responder.web import create_app
from responder.wiring import AppContext


def board_client(ctx: AppContext, role: str | None) -> AsgiClient:
    user = User(f"{role}1", role) if role else None
    return AsgiClient(AsUser(create_app(ctx), user))


@pytest.fixture
def officer(sqlite_ctx: AppContext) -> Iterator[AsgiClient]:
    with board_client(sqlite_ctx, "officer") as client:
        yield client


@pytest.fixture
def viewer(sqlite_ctx: AppContext) -> Iterator[AsgiClient]:
    with board_client(sqlite_ctx, "viewer") as client:
        yield client
