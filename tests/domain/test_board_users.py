"""The board's roles, names, password rules, masked numbers and the throttle's arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from responder.domain.board_users import (
    USER_THROTTLE,
    Role,
    check_password,
    mask_phone,
    role_of,
    username_of,
)
from responder.domain.errors import InputError

T0 = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)


def test_each_role_can_do_what_those_below_it_can() -> None:
    assert [r.allows(Role.OFFICER) for r in Role] == [False, True, True]
    assert all(r.allows(Role.VIEWER) for r in Role) and not Role.OFFICER.allows(Role.ADMIN)
    assert role_of(" Officer ") is Role.OFFICER
    with pytest.raises(InputError, match="viewer, officer, admin"):
        role_of("duty")


@pytest.mark.parametrize(("raw", "stored"), [("Olga", "olga"), (" 张三 ", "张三"), ("o.li-1@x", "o.li-1@x")])
def test_usernames(raw: str, stored: str) -> None:
    assert username_of(raw) == stored


@pytest.mark.parametrize("raw", ["", "o lga", "a/b", "x" * 65, "<b>"])
def test_bad_usernames(raw: str) -> None:
    with pytest.raises(InputError, match="1-64 letters"):
        username_of(raw)


def test_passwords() -> None:
    assert check_password("ten chars!") == "ten chars!"
    for bad, why in (("nine char", "at least 10"), ("x" * 1025, "at most 1024"), (" padded password", "spaces"),
                     ("line\nbreak pw", "line break")):
        with pytest.raises(InputError, match=why):
            check_password(bad)


@pytest.mark.parametrize(("phone", "shown"), [("+8617400007919", "+86174*****919"), ("13800138000", "1380****000"),
                                              ("12345678", "1****678"), ("1234", "****"), ("", "")])
def test_masked_numbers(phone: str, shown: str) -> None:
    assert mask_phone(phone) == shown
    assert len(mask_phone(phone)) == len(phone)


def test_the_wait_doubles_after_the_free_failures_up_to_its_cap() -> None:
    assert [USER_THROTTLE.wait_after(n).total_seconds() for n in range(1, 9)] == [0, 0, 2, 4, 8, 16, 32, 64]
    assert USER_THROTTLE.wait_after(200) == timedelta(minutes=15)


def test_old_failures_are_forgotten() -> None:
    assert USER_THROTTLE.retry_at(5, T0, T0 + timedelta(seconds=3)) == T0 + timedelta(seconds=8)
    assert USER_THROTTLE.retry_at(5, T0, T0 + timedelta(seconds=8)) is None
    assert USER_THROTTLE.failures_now(50, T0, T0 + timedelta(minutes=59)) == 50
    assert USER_THROTTLE.failures_now(50, T0, T0 + timedelta(hours=1)) == 0
    assert USER_THROTTLE.retry_at(50, T0, T0 + timedelta(hours=1)) is None
    assert USER_THROTTLE.retry_at(0, None, T0) is None
