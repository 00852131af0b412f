"""The duty board's users: roles, what each may do, and the sign-in throttle's arithmetic (pure, clock given)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from responder.domain.errors import InputError, Problem


class Role(StrEnum):
    """viewer sees status without phone numbers in full; officer (the duty officer) also acts; admin is an officer
    who may manage the board (users are managed by the CLI, which whoever runs it may use)."""

    VIEWER = "viewer"
    OFFICER = "officer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may: each role can do everything the ones below it can."""
        return self.rank >= needed.rank


_RANK = {Role.VIEWER: 0, Role.OFFICER: 1, Role.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class BoardUser:
    """Who is signed in to the board: what the pages and the audit record need of them."""

    username: str
    role: Role

    @property
    def sees_phone_numbers(self) -> bool:
        return self.role.allows(Role.OFFICER)


_USERNAME = re.compile(r"[\w.@-]{1,64}")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024


def username_of(raw: str, field: str = "NAME") -> str:
    """A username as stored: trimmed, lower case, letters (any script), digits and ``. _ @ -``, at most 64."""
    name = raw.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InputError(Problem(f"username {raw!r} must be 1-64 letters, digits or . _ @ -", field=field))
    return name


def role_of(raw: str, field: str = "--role") -> Role:
    try:
        return Role(raw.strip().lower())
    except ValueError:
        raise InputError(Problem(f"role {raw!r} is not one of {', '.join(r.value for r in Role)}",
                                 field=field)) from None


def check_password(password: str, field: str = "password") -> str:
    """Long enough to resist guessing at the throttled rate, short enough not to make hashing a denial of service."""
    if len(password) < MIN_PASSWORD:
        raise InputError(Problem(f"a password needs at least {MIN_PASSWORD} characters", field=field))
    if len(password) > MAX_PASSWORD:
        raise InputError(Problem(f"a password has at most {MAX_PASSWORD} characters", field=field))
    if password != password.strip() or "\n" in password:
        raise InputError(Problem("a password must not start or end with spaces or hold a line break", field=field))
    return password


def mask_phone(phone: str) -> str:
    """``+8617400007919`` → ``+861740****919``: enough to tell two people apart, not enough to call them."""
    digits = sum(ch.isdigit() for ch in phone)
    if digits <= 4:
        return "*" * len(phone)
    keep_end, keep_start = 3, max(0, min(6, len(phone) - 7))
    return phone[:keep_start] + "*" * (len(phone) - keep_start - keep_end) + phone[-keep_end:]


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """Free failures, then a wait that doubles with each further failure up to ``max_wait``; failures older than
    ``forget_after`` no longer count. Attempts during a wait are refused unchecked and do not count."""

    free_failures: int
    base_wait: timedelta
    max_wait: timedelta
    forget_after: timedelta

    def failures_now(self, failures: int, last_failure: datetime | None, now: datetime) -> int:
        if last_failure is None or now - last_failure >= self.forget_after:
            return 0
        return failures

    def wait_after(self, failures: int) -> timedelta:
        """How long to wait after the ``failures``-th failure in a row."""
        if failures < self.free_failures:
            return timedelta(0)
        doubling = min(failures - self.free_failures, 30)
        wait: timedelta = self.base_wait * (2 ** doubling)
        return min(wait, self.max_wait)

    def retry_at(self, failures: int, last_failure: datetime | None, now: datetime) -> datetime | None:
        """When the next attempt will be looked at, or None if now."""
        counted = self.failures_now(failures, last_failure, now)
        if counted == 0 or last_failure is None:
            return None
        until = last_failure + self.wait_after(counted)
        return until if until > now else None


USER_THROTTLE = ThrottlePolicy(free_failures=3, base_wait=timedelta(seconds=2), max_wait=timedelta(minutes=15),
                               forget_after=timedelta(hours=1))
"""Per username: a person mistyping three times waits 2 s, then 4, 8, …; a guesser gets about four tries an hour."""
IP_THROTTLE = ThrottlePolicy(free_failures=10, base_wait=timedelta(seconds=2), max_wait=timedelta(minutes=15),
                             forget_after=timedelta(hours=1))
"""Per client address: more free failures, as a township office shares one address, then the same doubling."""
