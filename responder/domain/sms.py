"""SMS encoding and segment counts: what a message will cost and whether it arrives whole."""

from __future__ import annotations

import math
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
"""Characters that take two septets (an escape and the character)."""


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: str
    """"GSM-7" or "UCS-2"."""
    units: int
    """Septets for GSM-7, UTF-16 code units for UCS-2."""
    segments: int
    chars: int


def count_segments(text: str) -> Segments:
    """How many SMS parts ``text`` takes (concatenated parts carry a 6/7-unit header)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text):
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else math.ceil(units / multi)
    return Segments(encoding, units, max(segments, 1), len(text))
