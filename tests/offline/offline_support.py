"""Support for the offline-fallback tests (call tree, loudspeaker): Debian tools they need, and the roster as the
call tree prints it (read straight from contacts/roster.csv by tests/sample_plan.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from sample_plan import raw_roster
from typer.testing import Result

DUTY_OFFICER = "O002"
"""On the rota on 1 July 2027 at 09:00 local (tests/conftest.py SEASON_START)."""

Invoke = Callable[..., Result]


def need_tool(name: str, package: str) -> str:
    """A Debian tool the Makefile installs: the test fails in CI without it, and is skipped elsewhere."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed in CI (Debian package {package}, `make system-deps`)")
        pytest.skip(f"{name} is not installed (Debian package {package})")
    return found


@cache
def people() -> dict[str, dict[str, Any]]:
    """id → name, groups (group → role) and ``dial``: the number as the call tree prints it (national form)."""
    out = {}
    for pid, person in raw_roster().items():
        digits = "".join(c for c in person.phone if c.isdigit()).removeprefix("86")
        out[pid] = {"name": person.name, "groups": person.groups, "dial": f"{digits[:3]} {digits[3:7]} {digits[7:]}"}
    return out
