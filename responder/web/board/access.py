"""Who is looking at the board, and what they may do: the one place the board reads the signed-in user.

The sign-in itself (users, sessions, roles, CSRF) is :mod:`responder.web.auth`'s: its middleware puts a
``BoardUser(username, role)`` on ``request.state.user``. The board only asks here.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

ACTING_ROLES = frozenset({"officer", "admin"})


def board_user(request: Request) -> Any | None:
    """The signed-in user (``username``, ``role``), or None."""
    return getattr(request.state, "user", None)


def role_of(request: Request) -> str | None:
    user = board_user(request)
    role = getattr(user, "role", None)
    return None if role is None else str(getattr(role, "value", role))


def may_act(request: Request) -> bool:
    """A duty officer or an admin may act; a viewer (or nobody) only looks."""
    return role_of(request) in ACTING_ROLES


def actor(request: Request) -> str:
    """The name the audit record gives a decision taken on the board."""
    user = board_user(request)
    return f"{getattr(user, 'username', '?')} (board)"


def csrf_token(request: Request) -> str:
    """The form token of the session (the sign-in module's; empty until it is there)."""
    return ""


def shown_phone(request: Request, phone: str) -> str:
    """A viewer sees no phone number in full: the last four digits only."""
    if may_act(request) or len(phone) <= 4:
        return phone
    return "•" * (len(phone) - 4) + phone[-4:]
