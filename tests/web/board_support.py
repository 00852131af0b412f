"""The board on a real SQLite database through the real ASGI app, with a user signed in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class User:
    username: str
    role: str


class AsUser:
    """Puts ``user`` on every request, as the sign-in middleware does for a signed-in session."""

    def __init__(self, app: ASGIApp, user: User | None) -> None:
        self.app, self.user = app, user

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.user is not None:
            scope.setdefault("state", {})["user"] = self.user
        await self.app(scope, receive, send)


HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def hidden_fields(html: str, form_class: str = "confirm-form") -> dict[str, Any]:
    """The hidden fields of the page's ``form_class`` form (what pressing its button posts)."""
    start = html.index(f'class="{form_class}"')
    end = html.index("</form>", start)
    import html as entities

    return {name: entities.unescape(value) for name, value in HIDDEN.findall(html[start:end])}
