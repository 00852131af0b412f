"""Units as agencies write them (UCUM, USGS, WMO and local habits), converted by an explicit table.

An explicit table rather than a units library: a feed's unit must either be one we know exactly or be
refused, never guessed from a prefix. Each spelling is a size in its dimension's base unit (length m,
flow m3/s, volume m3, share %). Spellings are compared without spaces, with ``³``/``^3``/``**3`` read
as ``3``; case is ignored except where it changes the meaning (``Mm3`` is a million cubic metres).
"""

from __future__ import annotations

from typing import Literal

Dimension = Literal["length", "flow", "volume", "share", "flag"]

_FT = 0.3048
_US_FT = 1200 / 3937
_IN = 0.0254
_CFS = _FT**3
_ACRE_FT = 43560 * _FT**3

_TABLE: dict[Dimension, dict[str, float]] = {
    "length": {
        "mm": 0.001, "cm": 0.01, "dm": 0.1, "m": 1.0, "in": _IN, "inch": _IN, "inches": _IN, "ft": _FT, "feet": _FT,
        "foot": _FT, "[in_i]": _IN, "[ft_i]": _FT, "[in_us]": _US_FT / 12, "[ft_us]": _US_FT, "毫米": 0.001,
        "厘米": 0.01, "米": 1.0,
    },
    "flow": {
        "m3/s": 1.0, "m3.s-1": 1.0, "m3s-1": 1.0, "m3/sec": 1.0, "cumec": 1.0, "cumecs": 1.0, "l/s": 0.001,
        "l.s-1": 0.001, "ls-1": 0.001, "ft3/s": _CFS, "ft3.s-1": _CFS, "cfs": _CFS, "[cft_i]/s": _CFS,
        "[cft_i].s-1": _CFS, "[ft_i]3/s": _CFS, "[ft_i]3.s-1": _CFS, "kcfs": 1000 * _CFS, "m3/h": 1 / 3600,
        "立方米每秒": 1.0,
    },
    "volume": {
        "m3": 1.0, "10^6m3": 1e6, "1e6m3": 1e6, "mcm": 1e6, "hm3": 1e6, "万m3": 1e4, "亿m3": 1e8,
        "acre-ft": _ACRE_FT, "ac-ft": _ACRE_FT, "acre-feet": _ACRE_FT, "af": _ACRE_FT, "[acr_us].[ft_us]": _ACRE_FT,
    },
    "share": {"%": 1.0, "percent": 1.0},
    "flag": {"flag": 1.0, "1": 1.0},
}
_CASE_SENSITIVE: dict[Dimension, dict[str, float]] = {"volume": {"Mm3": 1e6}}
"""Spellings whose case matters: ``Mm3`` (mega) is not ``mm3`` (milli)."""


def spelling(unit: str) -> str:
    """The unit as compared: no spaces, superscripts and powers as plain digits."""
    key = "".join(unit.split()).replace("³", "3").replace("^3", "3").replace("**3", "3")
    return "10^6m3" if key in ("10^6m3", "10⁶m3", "106m3") else key


def size(unit: str, dimension: Dimension) -> float | None:
    """The unit's size in the dimension's base unit, or None when it is not a unit of that dimension."""
    key = spelling(unit)
    exact = _CASE_SENSITIVE.get(dimension, {}).get(key)
    return exact if exact is not None else _TABLE[dimension].get(key.lower())


def known(dimension: Dimension) -> list[str]:
    """The spellings accepted for a dimension, for error messages."""
    return sorted({*_TABLE[dimension], *_CASE_SENSITIVE.get(dimension, {})})
