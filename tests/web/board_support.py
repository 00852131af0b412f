"""A client of the board that signs in through ``/login`` like a browser and sends its session's CSRF token with
every form, and the hidden fields of a page's form (what pressing its button posts)."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
from web_hooks_support import AsgiClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


class BoardClient(AsgiClient):
    token = ""

    def sign_in(self, username: str, password: str) -> None:
        login = self.get("/login")
        found = CSRF.search(login.text)
        assert found, login.text
        done = super().post("/login", data={"username": username, "password": password, "next": "/",
                                            "csrf_token": found[1]})
        assert done.status_code == 303, done.text
        page = self.get("/")
        token = CSRF.search(page.text)
        assert token, page.text
        self.token = token[1]

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """A form post with this session's CSRF token, unless the form carries one (or ``csrf_token=None``)."""
        data = dict(kwargs.pop("data", {}) or {})
        if data.get("csrf_token", "") == "":
            data["csrf_token"] = self.token
        if data["csrf_token"] is None:
            del data["csrf_token"]
        return super().post(path, data=data, **kwargs)


def hidden_fields(page: str, form_class: str = "confirm-form") -> dict[str, Any]:
    """The hidden fields of the page's ``form_class`` form."""
    start = page.index(f'class="{form_class}"')
    end = page.index("</form>", start)
    return {name: html.unescape(value) for name, value in HIDDEN.findall(page[start:end])}
