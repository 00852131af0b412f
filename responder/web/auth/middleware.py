"""The gate in front of the board: signed session cookies, the signed-in user on every request, sign-in required
and a CSRF token on every unsafe request, outside the machine-facing paths.

* ``/twilio/`` (signed by Twilio), ``/alibaba/`` (Alibaba Cloud's pushes, with their secret token), ``/cap/`` (public
  warnings), ``/health``, ``/healthz``, ``/metrics`` and
  ``/static/`` go straight through: no cookie, no session, no login, no CSRF.
* WebSocket connections are refused: the board serves none.
* ``/login`` and ``/logout`` get a session but no login requirement; they check their CSRF token themselves.
* Everything else needs a signed-in, active user: a GET or HEAD without one is sent to ``/login?next=…`` (303), an
  htmx request gets 401 with ``HX-Redirect``, anything else 401. A POST, PUT, PATCH or DELETE also needs the
  session's CSRF token, in the ``X-CSRF-Token`` header or the ``csrf_token`` form field, else 403.

The session cookie (Starlette's SessionMiddleware: itsdangerous-signed, HttpOnly, SameSite=Lax) holds the username,
the user's generation and the sign-in time. Every request reads the user's row once: a disabled user, or one
given a new password, is signed out at their next request; a session older than ``RESPONDER_SESSION_HOURS`` ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from responder.app.board_users import session_secret, session_user
from responder.app.ports import Context
from responder.domain.board_users import BoardUser
from responder.web.auth.access import CSRF_FIELD, CSRF_HEADER, csrf_matches

log = logging.getLogger(__name__)
PUBLIC_PREFIXES = ("/twilio/", "/alibaba/", "/cap/", "/static/")
PUBLIC_PATHS = frozenset({"/health", "/healthz", "/metrics"})
SIGN_IN_PATHS = frozenset({"/login", "/logout"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "responder_session"
CLOCK_SKEW_SECONDS = 60
"""A session signed by another worker whose clock runs a little ahead is still good."""
MAX_FORM_BYTES = 1_000_000
"""Larger bodies are refused (413) before the CSRF check reads them: no board form comes near it."""


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def signed_in_as(session: dict[str, Any], username: str, generation: int, at: float) -> None:
    """Start a fresh session for a user (clearing the old one: no session fixation)."""
    session.clear()
    session.update(u=username, g=generation, t=at)


class BoardGate:
    """ASGI middleware; see the module's docstring. The signing key is resolved at the first request that needs a
    session (the database's shared secret is made then, once the schema exists)."""

    def __init__(self, app: ASGIApp, ctx: Context) -> None:
        self.app, self.ctx = app, ctx
        self._sessions: tuple[ASGIApp, ASGIApp] | None = None
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # none is served: none gets past the gate
            return
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self._sessions is None:
            await run_in_threadpool(self._build)
        assert self._sessions is not None
        plain, secure = self._sessions
        await (secure if self._secure(scope) else plain)(scope, receive, send)

    def _build(self) -> None:
        with self._lock:
            if self._sessions is None:
                secret = session_secret(self.ctx)
                age = int(self.ctx.settings.session_hours * 3600)
                inner = _Gate(self.app, self.ctx)
                self._sessions = tuple(  # type: ignore[assignment]
                    SessionMiddleware(inner, secret, session_cookie=SESSION_COOKIE, max_age=age, same_site="lax",
                                      https_only=https) for https in (False, True))

    def _secure(self, scope: Scope) -> bool:
        settings = self.ctx.settings
        if settings.secure_cookies is not None:
            return settings.secure_cookies
        return (settings.public_url or "").startswith("https://") or scope.get("scheme") == "https"


class _Gate:
    """Inside the session middleware: who is signed in, then the login and CSRF requirements."""

    def __init__(self, app: ASGIApp, ctx: Context) -> None:
        self.app, self.ctx = app, ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection = HTTPConnection(scope)
        try:
            user = await self._user(connection)
        except Exception:  # the database: nobody can be let in, and nothing else would work either
            log.exception("board: the signed-in user could not be read")
            await PlainTextResponse("the database is not answering: try again shortly", 503)(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user
        path, method = scope["path"], scope["method"]
        if path in SIGN_IN_PATHS:
            await self.app(scope, receive, send)
            return
        if user is None:
            await _sign_in_first(connection, method)(scope, receive, send)
            return
        if method not in SAFE_METHODS:
            receive, token = await _csrf_token_of(connection, receive)
            if token is _TOO_LARGE:
                await PlainTextResponse("request body too large", 413)(scope, receive, send)
                return
            if not csrf_matches(connection, token):
                await PlainTextResponse("the form's CSRF token is missing or wrong: reload the page and try again",
                                        403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _user(self, connection: HTTPConnection) -> BoardUser | None:
        session = connection.session
        username, generation, at = session.get("u"), session.get("g"), session.get("t")
        if not isinstance(username, str) or not isinstance(generation, int) or not isinstance(at, int | float):
            return None
        now = self.ctx.clock.now().timestamp()
        user = None
        if -CLOCK_SKEW_SECONDS <= now - at < self.ctx.settings.session_hours * 3600:
            user = await run_in_threadpool(session_user, self.ctx, username, generation)
        if user is None:
            session.clear()
        return user


def _sign_in_first(connection: HTTPConnection, method: str) -> Response:
    target = connection.url.path + (f"?{connection.url.query}" if connection.url.query else "")
    login = f"/login?next={quote(target, safe='')}"
    if connection.headers.get("HX-Request"):
        return PlainTextResponse("sign in first", 401, headers={"HX-Redirect": login})
    if method in ("GET", "HEAD"):
        return RedirectResponse(login, 303)
    return PlainTextResponse("sign in first", 401)


_TOO_LARGE = "\0too large"


async def _csrf_token_of(connection: HTTPConnection, receive: Receive) -> tuple[Receive, str | None]:
    """The token from the header, else from the form body. The body is read here and handed on unchanged: the
    receive returned replays it to the route."""
    header = connection.headers.get(CSRF_HEADER)
    if header:
        return receive, header
    kind = connection.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return receive, None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return receive, None  # the client went away
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_FORM_BYTES:
            return receive, _TOO_LARGE
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replay = _replay(body, receive)
    if kind == "application/x-www-form-urlencoded":
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(CSRF_FIELD)
        return replay, values[0] if values else None
    form = await Request(connection.scope, _replay(body, receive)).form()
    value = form.get(CSRF_FIELD)
    await form.close()
    return replay, value if isinstance(value, str) else None


def _replay(body: bytes, receive: Receive) -> Callable[[], Any]:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # then the disconnect, when it comes

    return again
