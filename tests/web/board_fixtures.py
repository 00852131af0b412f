"""Fixtures of the board's tests: the real app (its sign-in gate included) on the sample plan and roster (SQLite),
a duty officer or a viewer signed in through ``/login``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from board_support import BoardClient
from starlette.applications import Starlette

from responder.app.board_users import add_user
from responder.domain.board_users import Role
from responder.web import create_app
from responder.wiring import AppContext

PASSWORD = "correct horse battery"


def signed_in(ctx: AppContext, username: str, role: Role, app: Starlette | None = None) -> Iterator[BoardClient]:
    add_user(ctx, username, role, PASSWORD, by="test")
    with BoardClient(app or create_app(ctx)) as client:
        client.sign_in(username, PASSWORD)
        yield client


@pytest.fixture
def officer(sqlite_ctx: AppContext) -> Iterator[BoardClient]:
    yield from signed_in(sqlite_ctx, "officer1", Role.OFFICER)


@pytest.fixture
def viewer(sqlite_ctx: AppContext) -> Iterator[BoardClient]:
    yield from signed_in(sqlite_ctx, "viewer1", Role.VIEWER)
