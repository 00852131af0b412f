"""The preview of a call-out through the routes: the text each person will get (the provider's template for +86,
the plan's own for the rest), its parts counted with the signature the provider adds (70, then 67 a part), and a
link in a template parameter refused before anything is written."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from cn_support import cn_context

from responder.app.alerts import preview_raise, raise_alert
from responder.app.status import list_incidents
from responder.domain.clock import FakeClock
from responder.domain.errors import InputError

SIGNATURE = "【三建乡防汛办】"


def test_parts_are_counted_with_the_signature(tmp_path: Path, clock: FakeClock) -> None:
    ctx = cn_context(f"sqlite:///{tmp_path / 'r.db'}", clock, tmp_path, None, None)
    preview = preview_raise(ctx, "flood", 2, "长河水位超警戒")
    domestic = [t for t in preview.texts if t.kind == "callout" and t.text.startswith("三建乡洪涝橙色预警2级")]
    foreign = [t for t in preview.texts if t.kind == "callout" and not t.text.startswith("三建乡洪涝橙色预警2级")]
    assert domestic and foreign and not preview.warnings
    for text in domestic:
        units = len(text.text) + len(SIGNATURE)
        assert (text.segments.units, text.segments.encoding) == (units, "UCS-2")
        assert text.segments.segments == (1 if units <= 70 else math.ceil(units / 67))
    assert any(t.segments.segments > 1 for t in domestic)  # these texts need more than one part: 67 each
    assert all(SIGNATURE not in t.text for t in foreign)


def test_a_long_reason_is_cut_in_the_preview_a_link_refused(tmp_path: Path, clock: FakeClock) -> None:
    ctx = cn_context(f"sqlite:///{tmp_path / 'r.db'}", clock, tmp_path, None, None)
    preview = preview_raise(ctx, "flood", 2, "长" * 60)
    assert any("长" * 34 + "…" in t.text for t in preview.texts)
    with pytest.raises(InputError, match="has a link"):
        raise_alert(ctx, "flood", 2, "详见 https://sw.example.cn/notice", by="duty officer")
    assert list_incidents(ctx) == []
