"""Who is looking at the board, and what they may do: the one place the board asks the sign-in module.

The sign-in itself (users, sessions, roles, CSRF) is :mod:`responder.web.auth`'s: its gate has already refused
anyone not signed in, and any POST without the session's CSRF token, before a board page runs.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

from responder.web.auth import BoardUser, Role, current_user, mask_phone, require_role
from responder.web.auth import csrf_token as session_csrf_token


def board_user(request: Request) -> BoardUser | None:
    """The signed-in user, or None."""
    return current_user(request)


def may_act(request: Request) -> bool:
    """A duty officer or an admin may act; a viewer only looks."""
    try:
        require_role(request, Role.OFFICER)
    except HTTPException:
        return False
    return True


def actor(request: Request) -> str:
    """The name the audit record gives a decision taken on the board: the signed-in user's."""
    user = require_role(request, Role.OFFICER)
    return f"{user.username} (board)"


def csrf_token(request: Request) -> str:
    """The session's form token (every form carries it; the gate refuses a POST without it)."""
    return session_csrf_token(request)


def shown_phone(request: Request, phone: str) -> str:
    """A viewer sees no phone number in full."""
    return mask_phone(phone, board_user(request))
