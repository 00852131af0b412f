"""SMS encoding and segment counts (GSM-7 vs UCS-2), and the plan's per-prefix limits (+86: no URLs, ≤ 500)."""

from __future__ import annotations

import pytest
from alerts_support import PLAN

from responder.configfiles.plan_file import read_plan
from responder.domain.messages import assess
from responder.domain.sms import count_segments
from responder.testing.twilio_server import segments as stub_segments


@pytest.mark.parametrize(("text", "encoding", "units", "parts"), [
    ("", "GSM-7", 0, 1),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("[" * 80, "GSM-7", 160, 1),  # extended characters take an escape and the character
    ("a" * 159 + "€", "GSM-7", 161, 2),
    ("Reply 1 K7 to confirm. @£$¥èéùìòÇ ÄÖÑÜ§¿äöñüà", "GSM-7", 45, 1),
    ("Fête", "UCS-2", 4, 1),  # ê is not in the GSM-7 alphabet: the whole message becomes UCS-2
    ("洪" * 70, "UCS-2", 70, 1),
    ("洪" * 71, "UCS-2", 71, 2),
    ("洪" * 134, "UCS-2", 134, 2),
    ("洪" * 135, "UCS-2", 135, 3),
    ("a" * 69 + "洪", "UCS-2", 70, 1),
    ("🌊" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
    ("🌊" * 36, "UCS-2", 72, 2),
])
def test_segment_counts(text: str, encoding: str, units: int, parts: int) -> None:
    counted = count_segments(text)
    assert (counted.encoding, counted.units, counted.segments, counted.chars) == (encoding, units, parts, len(text))
    if text:
        assert stub_segments(text) == parts, "the local Twilio server bills the same number of parts"


def test_plan_limits_per_prefix() -> None:
    plan = read_plan(PLAN).plan
    chinese = "【三建乡】" + "龙" * 495
    assert len(chinese) == 500
    assert assess(plan, "+8617400007919", chinese, "zh").warnings == ()
    assert assess(plan, "+8617400007919", chinese + "河", "zh").warnings == (
        "501 characters, over the 500 allowed for +86 numbers",)
    assert assess(plan, "+8617400007919", "see https://example.cn/flood", "en").warnings == (
        "contains a URL, not allowed for +86 numbers",)
    assert assess(plan, "+8617400007919", "see WWW.example.cn", "en").warnings == (
        "contains a URL, not allowed for +86 numbers",)
    # Elsewhere the plan's default applies: 1600 characters, links allowed.
    assert assess(plan, "+15005550006", "x" * 1600 + " https://example.com", "en").warnings == (
        "1620 characters, over the 1600 allowed for any number (sms.default_max_chars)",)
    assert assess(plan, "+15005550006", "see https://example.com", "en").warnings == ()
    rendered = assess(plan, "+8617400007919", chinese, "zh")
    assert (rendered.segments.encoding, rendered.segments.segments) == ("UCS-2", 8)
