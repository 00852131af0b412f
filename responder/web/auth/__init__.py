"""Sign-in, roles and CSRF for the duty board.

For pages: ``current_user(request)`` (also ``request.state.user``: a :class:`BoardUser` or None),
``require_role(request, Role.OFFICER)`` before any action (401/403), ``mask_phone(phone, user)`` for every number
shown, ``csrf_token(request)`` in every form (field ``csrf_token``, or header ``X-CSRF-Token``). The gate
(:class:`BoardGate`, installed by ``web.app.create_app``) has already refused anyone not signed in and any unsafe
request without the token.
"""

from responder.domain.board_users import BoardUser, Role
from responder.web.auth.access import CSRF_FIELD, CSRF_HEADER, csrf_token, current_user, mask_phone, require_role
from responder.web.auth.login import login_routes, request_language
from responder.web.auth.middleware import BoardGate, is_public

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "BoardGate", "BoardUser", "Role", "csrf_token", "current_user", "is_public",
           "login_routes", "mask_phone", "request_language", "require_role"]
