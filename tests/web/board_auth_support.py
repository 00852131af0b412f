"""The real app with two routes of the kind the board's pages add (a page and an officer's action), and a client
that signs in through ``/login`` like a browser: cookies kept, the form's CSRF token sent back."""

from __future__ import annotations

import re
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from web_hooks_support import AsgiClient

from responder.app.board_users import add_user
from responder.domain.board_users import Role
from responder.web import create_app
from responder.web.auth import csrf_token, current_user, mask_phone, require_role
from responder.wiring import AppContext

PASSWORD = "correct horse battery"
PHONE = "+8617400023757"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _page(request: Request) -> Response:
    user = current_user(request)
    assert user is not None  # the gate let nobody else through
    assert request.state.user == user
    return PlainTextResponse(f"user={user.username} role={user.role.value} phone={mask_phone(PHONE, user)} "
                             f"csrf={csrf_token(request)}")


async def _act(request: Request) -> Response:
    user = require_role(request, Role.OFFICER)
    async with request.form() as form:
        return PlainTextResponse(f"done by {user.username}: {form.get('value')}")


def board_app(ctx: AppContext, **kwargs: Any) -> Starlette:
    """``create_app`` with ``GET /test/page`` and ``POST /test/act`` (needs an officer), as pages will add."""
    app = create_app(ctx, **kwargs)
    app.router.routes.extend([Route("/test/page", _page, methods=["GET"]),
                              Route("/test/act", _act, methods=["POST"])])
    return app


def make_users(ctx: AppContext) -> None:
    for name, role in (("olga", Role.OFFICER), ("victor", Role.VIEWER), ("ada", Role.ADMIN)):
        add_user(ctx, name, role, PASSWORD, by="test")


class Browser:
    """An AsgiClient used like a browser: signs in through the login form and keeps its cookie."""

    def __init__(self, client: AsgiClient) -> None:
        self.client = client

    def login_token(self, path: str = "/login") -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        found = _CSRF.search(page.text)
        assert found, page.text
        return found.group(1)

    def sign_in(self, username: str, password: str = PASSWORD, next_path: str = "/test/page") -> httpx.Response:
        self.forget()  # a sign-in starts from the login page, which a signed-in browser is sent past
        token = self.login_token()
        return self.client.post("/login", data={"username": username, "password": password, "next": next_path,
                                                "csrf_token": token})

    def forget(self) -> None:
        """Drop the cookies, as a fresh browser would have none."""
        assert self.client._client is not None
        self.client._client.cookies.clear()

    def page_token(self) -> str:
        page = self.client.get("/test/page")
        assert page.status_code == 200, page.text
        return page.text.rsplit("csrf=", 1)[1]

    def act(self, value: str = "raise", token: str | None = None, **kwargs: Any) -> httpx.Response:
        data = {"value": value, **({"csrf_token": token} if token is not None else {})}
        return self.client.post("/test/act", data=data, **kwargs)
