"""``GET|POST /login`` and ``POST /logout``: the sign-in form in Chinese and English, through the throttle.

A wrong name or password answers 401 and the same words either way; while the user's name or the client's address
must wait (see ``domain.board_users.USER_THROTTLE``), 429 with ``Retry-After``, unchecked. Both forms carry the
session's CSRF token, checked here (the gate lets these two paths through without a user).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from responder.app.board_users import sign_in, sign_out
from responder.app.ports import Context
from responder.web.auth.access import CSRF_FIELD, CSRF_HEADER, csrf_matches, csrf_token, current_user
from responder.web.auth.middleware import signed_in_as

TEMPLATES = Path(__file__).parent / "templates"
TEXTS: dict[str, dict[str, str]] = {
    "zh": {"title": "登录 · 防汛值班台", "heading": "防汛抗旱值班台", "subtitle": "请登录后查看和处置警情",
           "username": "用户名", "password": "密码", "submit": "登录",
           "wrong": "用户名或密码不正确。", "wait": "尝试次数过多，请 {seconds} 秒后再试。",
           "expired": "页面已过期，请重新输入后登录。", "name": "中文"},
    "en": {"title": "Sign in · Duty board", "heading": "Flood and drought duty board",
           "subtitle": "Sign in to see and act on incidents", "username": "Username", "password": "Password",
           "submit": "Sign in", "wrong": "Wrong username or password.",
           "wait": "Too many attempts: try again in {seconds} s.",
           "expired": "The form had expired: please sign in again.", "name": "English"},
}


def request_language(request: Request, languages: Sequence[str], default: str) -> str:
    """``?lang=`` if it is one of ``languages``, else the browser's first acceptable one, else ``default``."""
    asked = request.query_params.get("lang")
    if asked in languages:
        return str(asked)
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in languages and quality > 0:
            weighted.append((-quality, index, primary))
    return min(weighted)[2] if weighted else default


def safe_next(target: str | None) -> str:
    """Only a path of this site: never ``//elsewhere`` or ``https://elsewhere`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_routes(ctx: Context, templates: Environment | None = None) -> list[Route]:
    """The routes; ``templates``: the board's Jinja2 environment, whose loader also finds this folder's
    ``login.html`` (so that it may extend the board's base), else a standalone one."""
    env = templates or Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    template = env.get_template("login.html")

    def languages() -> tuple[list[str], str]:
        plan = ctx.plan_file.plan
        known = [code for code in plan.languages if code in TEXTS] or ["en"]
        default = plan.default_language if plan.default_language in known else known[0]
        return known, default

    def page(request: Request, status: int = 200, error_key: str | None = None, username: str = "",
             next_path: str = "/", headers: dict[str, str] | None = None, **values: Any) -> Response:
        known, default = languages()
        lang = request_language(request, known, default)
        texts = TEXTS[lang]
        error = texts[error_key].format(**values) if error_key else None
        html = template.render(lang=lang, t=texts, error=error, username=username, next=next_path,
                               csrf=csrf_token(request), lang_param="lang" in request.query_params,
                               languages=[(code, TEXTS[code]["name"]) for code in known])
        return HTMLResponse(html, status, headers={"Cache-Control": "no-store", **(headers or {})})

    async def login_form(request: Request) -> Response:
        if current_user(request) is not None:
            return RedirectResponse(safe_next(request.query_params.get("next")), 303)
        return page(request, next_path=safe_next(request.query_params.get("next")))

    async def login_submit(request: Request) -> Response:
        async with request.form(max_files=0) as form:
            username, password = str(form.get("username") or "")[:200], str(form.get("password") or "")
            next_path, token = safe_next(str(form.get("next") or "")), str(form.get(CSRF_FIELD) or "")
        if not csrf_matches(request, token):
            return page(request, 403, "expired", username, next_path)
        client = request.client.host if request.client else "unknown"
        result = await run_in_threadpool(sign_in, ctx, username, password[:2000], client)
        if result.user is not None:
            signed_in_as(request.session, result.user.username, result.generation, ctx.clock.now().timestamp())
            csrf_token(request)  # a new token for the new session
            return RedirectResponse(next_path, 303)
        if result.retry_after > 0:
            seconds = max(1, math.ceil(result.retry_after))
            return page(request, 429, "wait", username, next_path, headers={"Retry-After": str(seconds)},
                        seconds=seconds)
        return page(request, 401, "wrong", username, next_path)

    async def logout(request: Request) -> Response:
        form_token = None
        if request.headers.get(CSRF_HEADER) is None:
            async with request.form(max_files=0) as form:
                form_token = str(form.get(CSRF_FIELD) or "")
        user = current_user(request)
        if user is not None and csrf_matches(request, request.headers.get(CSRF_HEADER) or form_token):
            client = request.client.host if request.client else "unknown"
            await run_in_threadpool(sign_out, ctx, user, client)
            request.session.clear()
        elif user is not None:
            return Response("the form's CSRF token is missing or wrong: reload the page and try again", 403)
        return RedirectResponse("/login", 303)

    return [Route("/login", login_form, methods=["GET"]), Route("/login", login_submit, methods=["POST"]),
            Route("/logout", logout, methods=["POST"])]
