"""The duty board's users: add, list, disable, new password, new role, and signing in through the throttle.

Passwords are hashed with Argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane: 55-100 ms on the loaded
development machine, where argon2-cffi's default of 64 MiB and 4 lanes took 0.4-1 s), at most two at a time per
process: a burst of sign-ins queues instead of taking every thread and 19 MiB each. A stored hash of other
parameters is re-hashed at the user's next sign-in. Every change and
every sign-in whose password was checked is in the audit record (``kind`` ``board_user_*``, ``sign_in``,
``sign_in_failed``, ``sign_out``); attempts refused unchecked by the throttle are only logged.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from responder.app.ports import Context
from responder.domain.board_users import (
    IP_THROTTLE,
    USER_THROTTLE,
    BoardUser,
    Role,
    check_password,
    username_of,
)
from responder.domain.errors import Conflict, InputError, NotFound, Problem
from responder.storage import board_users as repo
from responder.storage.db import reading, transaction
from responder.storage.incidents import audit

if TYPE_CHECKING:
    from argon2 import PasswordHasher

log = logging.getLogger(__name__)


_HASHING = threading.BoundedSemaphore(2)


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def _hash(password: str) -> str:
    with _HASHING:
        return _hasher().hash(password)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """Checked against when the username is unknown, so that a wrong name takes as long as a wrong password."""
    return _hash("not a password: the user does not exist")


def _verify(stored: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        with _HASHING:
            return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class UserInfo:
    username: str
    role: Role
    active: bool
    created_at: datetime
    last_sign_in_at: datetime | None


def add_user(ctx: Context, name: str, role: Role, password: str, by: str) -> UserInfo:
    username = username_of(name)
    hashed = _hash(check_password(password))
    ctx.require_schema()
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        if repo.get_user(session, username) is not None:
            raise Conflict(f"board user {username!r} exists already (`responder users passwd` sets a new password)")
        row = repo.add_user(session, username, role.value, hashed, now)
        audit(session, now, by, "board_user_added", f"board user {username} added as {role.value}",
              evidence={"username": username, "role": role.value})
        return _info(row.username, row.role, row.active, row.created_at, row.last_sign_in_at)


def list_users(ctx: Context) -> list[UserInfo]:
    ctx.require_schema()
    with ctx.sessions() as session:
        return [_info(r.username, r.role, r.active, r.created_at, r.last_sign_in_at) for r in repo.all_users(session)]


def set_active(ctx: Context, name: str, active: bool, by: str) -> UserInfo:
    """Disable (or enable again) a user; disabling ends their sessions at their next request."""
    return _change(ctx, name, by, active=active)


def set_password(ctx: Context, name: str, password: str, by: str) -> UserInfo:
    """A new password: the user's other sessions end, and their failed sign-ins are forgotten."""
    return _change(ctx, name, by, password_hash=_hash(check_password(password)))


def set_role(ctx: Context, name: str, role: Role, by: str) -> UserInfo:
    """Another role; the user's sessions end, so that the new role applies from their next sign-in."""
    return _change(ctx, name, by, role=role)


def _change(ctx: Context, name: str, by: str, *, active: bool | None = None, password_hash: str | None = None,
            role: Role | None = None) -> UserInfo:
    username = username_of(name)
    ctx.require_schema()
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        row = repo.get_user(session, username)
        if row is None:
            raise NotFound(f"no board user {username!r} (`responder users list` shows them)")
        if active is not None:
            row.active = active
            kind, summary = ("board_user_enabled", "enabled") if active else ("board_user_disabled", "disabled")
        elif role is not None:
            kind, summary = "board_user_role", f"changed from {row.role} to {role.value}"
            row.role = role.value
        else:
            assert password_hash is not None
            row.password_hash = password_hash
            repo.clear_failures(session, _user_key(username))
            kind, summary = "board_user_password", "given a new password"
        row.generation += 1
        row.updated_at = now
        audit(session, now, by, kind, f"board user {username} {summary}", evidence={"username": username})
        return _info(row.username, row.role, row.active, row.created_at, row.last_sign_in_at)


def _info(username: str, role: str, active: bool, created: datetime, last: datetime | None) -> UserInfo:
    return UserInfo(username, Role(role), active, created, last)


# -- the board's side ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignIn:
    """What a sign-in attempt came to: a user (and the session generation to put in the cookie), or a refusal
    with how many seconds to wait (0: the name or password was wrong)."""

    user: BoardUser | None
    generation: int = 0
    retry_after: float = 0.0


def sign_in(ctx: Context, name: str, password: str, client: str) -> SignIn:
    """Check a username and password through the per-user and per-address throttle.

    While a key is waiting the attempt is refused unchecked (so a guesser learns nothing, however right), does not
    count and is only logged. The password is checked outside any transaction: hashing takes tens of milliseconds
    and must not hold SQLite's write lock."""
    now = ctx.clock.now()
    try:
        username = username_of(name)
    except InputError:
        username = name.strip().lower()[:64]
    keys = {_user_key(username): USER_THROTTLE, _ip_key(client): IP_THROTTLE}
    with reading(ctx.engine) as conn:
        state = repo.throttle_state(conn, keys)
        found = repo.credentials(conn, username)
    waits = [policy.retry_at(*state[key], now) for key, policy in keys.items() if key in state]
    until = max((w for w in waits if w is not None), default=None)
    if until is not None:
        # Not written anywhere: a refusal costs no hashing, so a flood of them must not cost a write (SQLite's lock).
        retry = (until - now).total_seconds()
        log.warning("sign-in as %r from %s refused unchecked: wait %.0f s", username, client, retry)
        return SignIn(None, retry_after=retry)
    ok = _verify(found[0] if found else _decoy_hash(), password) and found is not None
    if ok and found is not None and found[2]:
        with transaction(ctx.sessions) as session:
            repo.clear_failures(session, _user_key(username))
            user_row = repo.get_user(session, username)
            if user_row is not None:
                user_row.last_sign_in_at = now
                if _hasher().check_needs_rehash(user_row.password_hash):
                    user_row.password_hash = _hash(password)
            audit(session, now, username, "sign_in", f"{username} signed in to the board",
                  evidence={"username": username, "client": client})
        return SignIn(BoardUser(username, Role(found[1])), generation=found[3])
    reason = "unknown user" if found is None else "disabled" if ok else "wrong password"
    with transaction(ctx.sessions) as session:
        for key, policy in keys.items():
            repo.count_failure(session, key, now, now - policy.forget_after)
        audit(session, now, username, "sign_in_failed", f"sign-in as {username} failed",
              evidence={"username": username, "client": client, "reason": reason})
    return SignIn(None)


def sign_out(ctx: Context, user: BoardUser, client: str) -> None:
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        audit(session, now, user.username, "sign_out", f"{user.username} signed out of the board",
              evidence={"username": user.username, "client": client})


def session_user(ctx: Context, username: str, generation: int) -> BoardUser | None:
    """The user a session cookie names, if they still may use the board: active, and the cookie signed for their
    current generation (no new password, no disabling since). One primary-key read, no write lock."""
    with reading(ctx.engine) as conn:
        found = repo.session_user(conn, username)
    if found is None or not found[1] or found[2] != generation:
        return None
    return BoardUser(username, Role(found[0]))


def session_secret(ctx: Context) -> str:
    """The key that signs session cookies: the setting if given, else the database's shared one."""
    secret = configured_secret(ctx)
    if secret is not None:
        return secret
    with transaction(ctx.sessions) as session:
        return repo.shared_secret(session, "session", ctx.clock.now())


def configured_secret(ctx: Context) -> str | None:
    """``RESPONDER_SESSION_SECRET``, refused if it is too short to sign with."""
    if ctx.settings.session_secret is None:
        return None
    secret = ctx.settings.session_secret.get_secret_value()
    if len(secret) < 32:
        raise InputError(Problem(f"the session secret has {len(secret)} characters: it needs at least 32 (e.g. "
                                 "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)",
                                 field="RESPONDER_SESSION_SECRET"))
    return secret


def _user_key(username: str) -> str:
    return f"user:{username}"


def _ip_key(client: str) -> str:
    return f"ip:{client}"

