"""Jinja2 templates of the board, the language of a request, and the helpers every page uses.

The language is ``?lang=`` (remembered in a cookie), else the cookie, else the browser's Accept-Language,
else the plan's first language. Times are shown in the plan's zone. A request with ``X-Board-Live: 1``
(the page's script after a live update) gets only the page's ``live`` block.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from responder.app.ports import Context
from responder.domain.escalation import ACTION_NAMES
from responder.domain.plan import Plan, pick
from responder.web.board import access
from responder.web.board.i18n import LANGUAGES, WORDS, word

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
LANG_COOKIE = "board_lang"
LEVEL_COLOURS = {"blue": "#1f5fbf", "yellow": "#e0b400", "orange": "#ef7d00", "red": "#d00000"}

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "svg"]),
                   trim_blocks=True, lstrip_blocks=True, auto_reload=False)


def languages(plan: Plan) -> list[str]:
    return [lang for lang in plan.languages if lang in LANGUAGES] or ["en"]


def language_of(request: Request, plan: Plan) -> str:
    known = languages(plan)
    for asked in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if asked in known:
            return str(asked)
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        base = tag.split("-")[0]
        if base in known:
            return base
    return known[0] if plan.default_language not in known else plan.default_language


class Page:
    """What every template is given: the language, the plan, the user, and the formatting helpers."""

    def __init__(self, ctx: Context, request: Request) -> None:
        self.ctx, self.request = ctx, request
        self.plan = ctx.plan_file.plan
        self.lang = language_of(request, self.plan)
        self.zone = self.plan.area.zone
        self.may_act = access.may_act(request)
        self.user = access.board_user(request)

    def t(self, key: str, **values: object) -> str:
        return word(key, self.lang, **values)

    def name(self, value: dict[str, str]) -> str:
        return pick(value, self.lang, self.plan.default_language)

    def step_action(self, action: str, chain_step: str | None) -> str:
        """An escalation step as the officer reads it: "上报县防办", not ``notify_chain (county)``."""
        names = ACTION_NAMES.get(self.lang, ACTION_NAMES["en"])
        rung = self.plan.chain_step(chain_step) if chain_step else None
        return names.get(action, action).format(name=self.name(rung.name) if rung else chain_step or "")

    def state(self, status: str) -> str:
        """A message's state (queued, sent, delivered, failed, ...) in the page's language."""
        key = f"st_{status}"
        return self.t(key) if key in WORDS else status

    def local(self, when: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
        return "—" if when is None else when.astimezone(self.zone).strftime(fmt)

    def shift_time(self, when: datetime) -> str:
        """Weekday, date and time of a shift, the weekday in the page's language (``%a`` follows the C locale)."""
        local = when.astimezone(self.zone)
        return f"{self.t('weekdays').split()[local.weekday()]} {local:%m-%d %H:%M}"

    def level_badge(self, level: int | None) -> Markup:
        if level is None or level not in {lv.level for lv in self.plan.levels}:
            return Markup('<span class="level">—</span>')
        definition = self.plan.level(level)
        label = f"{self.name(definition.colour_name)} · {self.t('level_n', n=level)}"
        return Markup('<span class="level lvl-{0}" style="--lvl:{1}">{2}</span>').format(
            definition.colour, LEVEL_COLOURS[definition.colour], label)

    def hazard(self, hazard_id: str) -> str:
        definition = self.plan.hazard(hazard_id)
        return self.name(definition.name) if definition else hazard_id

    def group(self, group_id: str) -> str:
        return self.name(self.plan.group(group_id).name) if group_id in self.plan.group_ids else group_id

    def phone(self, number: str) -> str:
        return access.shown_phone(self.request, number)

    def csrf_field(self) -> Markup:
        return Markup('<input type="hidden" name="csrf_token" value="{0}">').format(access.csrf_token(self.request))


def render(ctx: Context, request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    """The page, or only its ``live`` block for the page's live refresh (pages with forms turn it off)."""
    page = Page(ctx, request)
    tpl = _env.get_template(template)
    values = {"page": page, "t": page.t, "m": _env.get_template("macros.html").module, **values}
    if request.headers.get("x-board-live") == "1" and "live_on" not in tpl.blocks:  # forms are never redrawn
        body = "".join(tpl.blocks["live"](tpl.new_context(values)))
    else:
        body = tpl.render(values)
    response = HTMLResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})
    asked = request.query_params.get("lang")
    if asked in languages(page.plan):
        response.set_cookie(LANG_COOKIE, str(asked), max_age=365 * 86400, samesite="lax", httponly=True)
    return response
