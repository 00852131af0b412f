"""Small value types shared by the plan, the roster and the rules."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

_DURATION = re.compile(r"([0-9]{1,12}(?:\.[0-9]{1,9})?)\s*(d|h|min|m|s)", re.IGNORECASE | re.ASCII)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "min": 60, "m": 60, "s": 1}
MAX_DURATION = timedelta(days=3660)
"""Ten years: no duration in a plan or scenario is longer; far beyond it, ``timedelta`` overflows."""


def parse_duration(value: Any) -> timedelta:
    """Accept "5m", "1h30m", "90s", "2d" or plain seconds: plans are written by people."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration like '10m' or '2h' is required")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        if not value <= MAX_DURATION.total_seconds():  # also NaN
            raise ValueError(f"{value!r} seconds is longer than {format_duration(MAX_DURATION)}")
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError("a duration like '10m' or '2h' is required")
    text = value.strip().replace(" ", "")
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"{value!r} is not a duration (write e.g. '30s', '10m', '2h', '1h30m', '3d')")
    if total > MAX_DURATION.total_seconds():
        raise ValueError(f"{value!r} is longer than {format_duration(MAX_DURATION)}")
    return timedelta(seconds=total)


def within(low: str, high: str) -> AfterValidator:
    """A Duration between ``low`` and ``high`` (inclusive): ``Annotated[Duration, within("1s", "10m")]``.

    Zero, negative and huge values hang or overflow loops that step by them (a feed polled every 0 s, a
    drill sampled every second for ten years), so every duration in a plan or scenario has both bounds.
    """

    least, most = parse_duration(low), parse_duration(high)

    def check(value: timedelta) -> timedelta:
        if not least <= value <= most:
            raise ValueError(f"{format_duration(value)} is outside the bounds {low}–{high}")
        return value

    return AfterValidator(check)


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


class Role(StrEnum):
    """A person's role in a roster group."""

    LEADER = "leader"
    DEPUTY = "deputy"
    MEMBER = "member"


LEVELS = (4, 3, 2, 1)
"""Warning levels from the mildest (4, blue) to the most severe (1, red)."""


def more_severe(a: int | None, b: int | None) -> int | None:
    """The more severe of two levels; ``None`` means no level."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
