"""The grammar of what people type and feeds send: numbers and free text.

Python's ``float()`` takes ``1_5`` (15), ``١٥`` (Arabic-Indic 15), ``inf`` and ``nan``; a tired duty
officer's typo must not become a reading. One grammar serves every feed reader and manual entry:
ASCII digits, at most one point, an optional sign and an optional exponent. Free text (who did it,
why, names) is bounded in length and may not carry control, bidi or zero-width characters, which
hide or reorder what a reader of the audit trail or a report sees.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator

from responder.domain.errors import InputError, Problem

NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?", re.ASCII)
"""``15``, ``-0.5``, ``+3.``, ``.25``, ``1.2e3``; not ``1_5``, ``١٥``, ``1,5``, ``0x1f``, ``inf``, ``nan``."""

MAX_NUMBER_CHARS = 40
"""Longer than any real reading: a pasted blob is refused before it is looked at."""

MAX_BY = 100
"""``--by``: a person's name and id."""
MAX_NOTE = 500
"""Notes and places given with a report."""
MAX_NAME = 100
"""A person's or group's name in the roster."""

_HIDDEN = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e\u00ad")
"""Zero-width and invisible characters (category Cf is refused too; these are the ones most often pasted)."""


def parse_number(text: str) -> float:
    """A finite number in the one grammar, or ValueError saying why not."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("no value")
    if len(stripped) > MAX_NUMBER_CHARS:
        raise ValueError(f"a value of {len(stripped)} characters is not a number")
    if stripped.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise ValueError(f"{stripped!r} is not a finite number")
    if not NUMBER.fullmatch(stripped):
        raise ValueError(f"{_shown(stripped)} is not a number{_hint(stripped)}")
    number = float(stripped)
    if not math.isfinite(number):
        raise ValueError(f"{_shown(stripped)} is too large")
    return number


def hidden_character(text: str, *, allow_newlines: bool = False) -> tuple[int, str] | None:
    """The first control, bidi or zero-width character: its 0-based index and its Unicode name."""
    for index, char in enumerate(text):
        if allow_newlines and char in "\n\t":
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or char in _HIDDEN:
            return index, unicodedata.name(char, f"U+{ord(char):04X}")
    return None


def text_problem(text: str, what: str, limit: int, *, allow_newlines: bool = False) -> str | None:
    """Why ``text`` cannot be taken as a name, reason or note, or None: too long, or hiding characters."""
    if len(text) > limit:
        return f"{what} is {len(text)} characters; at most {limit}"
    found = hidden_character(text, allow_newlines=allow_newlines)
    if found is not None:
        index, name = found
        return f"{what} has an invisible or control character ({name}) at character {index + 1}; retype it"
    return None


def check_text(value: str, field: str, limit: int, *, what: str = "text", allow_newlines: bool = False) -> str:
    """``value`` with surrounding blanks removed, or an InputError naming ``field``."""
    text = value.strip()
    problem = text_problem(text, what, limit, allow_newlines=allow_newlines)
    if problem is not None:
        raise InputError(Problem(problem, field=field))
    return text


MAX_PLAN_TEXT = 2000
"""A name, advice or message template in a plan: longer than any SMS (1,600 characters)."""


def _plan_text(value: str) -> str:
    problem = text_problem(value, "the text", MAX_PLAN_TEXT, allow_newlines=True)
    if problem is not None:
        raise ValueError(problem)
    return value


PlanText = Annotated[str, AfterValidator(_plan_text)]
"""Text a plan gives in each language: bounded, and with nothing invisible that would reorder what people read."""


def _hint(text: str) -> str:
    """What to fix in a value that looks like a number but is not in the grammar."""
    if "_" in text:
        return " (no underscores: write 15, not 1_5)"
    if any(c.isdigit() and not c.isascii() for c in text):
        return " (ASCII digits 0-9 only)"
    if "," in text or text.count(".") > 1:
        return " (at most one decimal point, no thousands separators)"
    if hidden_character(text):
        return " (it holds an invisible character; retype it)"
    return ""


def _shown(text: str) -> str:
    """The text quoted, with anything invisible spelt out (``'1\\u200b5'``)."""
    return ascii(text) if hidden_character(text) or not text.isascii() else repr(text)
