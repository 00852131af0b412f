"""What a page asks of the signed-in user: who they are, whether they may act, the numbers they may see, and the
CSRF token its forms carry."""

from __future__ import annotations

import hmac
import secrets

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from responder.domain.board_users import BoardUser, Role
from responder.domain.board_users import mask_phone as _masked

CSRF_FIELD = "csrf_token"
"""The form field that carries the token."""
CSRF_HEADER = "X-CSRF-Token"
"""The header that carries it instead (htmx, fetch)."""
_CSRF_KEY = "csrf"


def current_user(request: HTTPConnection) -> BoardUser | None:
    """The signed-in user (set by the board's middleware on every request it lets through), or None."""
    user = getattr(request.state, "user", None)
    return user if isinstance(user, BoardUser) else None


def require_role(request: HTTPConnection, role: Role) -> BoardUser:
    """The signed-in user if their role allows ``role``: 401 if nobody is signed in, 403 for a lesser role."""
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "sign in first")
    if not user.role.allows(role):
        raise HTTPException(403, f"a {user.role.value} may not do this: it needs {role.value}")
    return user


def mask_phone(phone: str, user: BoardUser | None) -> str:
    """The number as this user may see it: in full for a duty officer or an admin, masked for a viewer (or nobody)."""
    return phone if user is not None and user.sees_phone_numbers else _masked(phone)


def csrf_token(request: HTTPConnection) -> str:
    """The session's CSRF token, made on first use; put it in every form (``csrf_token`` field) or send it as the
    ``X-CSRF-Token`` header."""
    session = request.session
    token = session.get(_CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[_CSRF_KEY] = token
    return token


def csrf_matches(request: HTTPConnection, given: str | None) -> bool:
    """Whether ``given`` is this session's token (compared in constant time)."""
    expected = request.session.get(_CSRF_KEY)
    if not isinstance(expected, str) or not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
