"""One renderer: every template of the plan in each language, and the same text in preview, outbox and gateway."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alerts_support import PLAN, REASON, outbox

from responder.app.alerts import preview_raise, raise_alert
from responder.configfiles.plan_file import read_plan
from responder.domain.messages import IncidentFacts, Task, render
from responder.gateways.fake import FakeGateway
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher

KINDS = ["upgrade", "downgrade", "released", "standdown", "evacuation", "confirmed", "failure_summary",
         "inform_chain", "escalate_group", "escalate_chain", "voice"]
RESCUE = Task("rescue", {"zh": "全体抢险人员立即到现场待命", "en": "all rescue personnel go on site now"},
              {"zh": "龙河大桥桥头", "en": "Long River bridgehead"})


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("kind", [f"callout{n}" for n in (4, 3, 2, 1)] + KINDS)
def test_every_template_renders_in_every_language_without_leftovers(kind: str, language: str) -> None:
    plan = read_plan(PLAN).plan
    level = int(kind[-1]) if kind.startswith("callout") else 1
    facts = IncidentFacts("K7", "flood", level, "Long River 0.5 m over the warning line", False, old_level=2)
    text = render(plan, kind.rstrip("1234"), language, facts, [RESCUE],
                  extras={"names": "A, B", "count": "2", "zone": "Z", "shelter": "S"},
                  when=datetime(2027, 7, 1, 1, 0, tzinfo=UTC))
    assert "{" not in text and "}" not in text and text == text.strip()
    if kind != "confirmed":  # a short receipt to a reply: the only text that need not name the area
        assert ("三建乡" if language == "zh" else "Sanjian") in text
    if kind not in ("confirmed", "failure_summary", "escalate_group", "escalate_chain", "evacuation", "standdown"):
        assert "Long River 0.5 m over the warning line" in text
    if kind.startswith("callout") or kind in ("upgrade", "evacuation", "inform_chain"):
        assert ("回复 1 K7 确认" if language == "zh" else "Reply 1 K7 to confirm") in text


def test_drills_are_marked_in_each_language() -> None:
    plan = read_plan(PLAN).plan
    facts = IncidentFacts("K7", "flood", 2, "演练", is_drill=True)
    assert render(plan, "callout", "zh", facts, [RESCUE]).startswith("【演练】【三建乡·洪涝橙色预警（2级）】")
    assert render(plan, "callout", "en", facts, [RESCUE]).startswith("[DRILL] [Sanjian Township flood orange warning")
    assert render(plan, "callout", "fr", facts, [RESCUE]).startswith("【演练】"), "unknown language: the plan's first"


def test_preview_outbox_and_gateway_carry_the_same_texts(sqlite_ctx: AppContext) -> None:
    preview = preview_raise(sqlite_ctx, "flood", 2, REASON)
    outcome = raise_alert(sqlite_ctx, "flood", 2, REASON, "tester")
    rows = outbox(sqlite_ctx, outcome.incident_id)
    assert {(t.kind, t.language, t.text) for t in preview.texts} == {(r.kind, r.language, r.body) for r in rows}
    for t in preview.texts:
        assert t.recipients == len([r for r in rows if (r.kind, r.language, r.body) == (t.kind, t.language, t.text)])
    gateway = FakeGateway(clock=sqlite_ctx.clock)
    Dispatcher(sqlite_ctx, gateway).drain()
    assert sorted((s.to, s.body) for s in gateway.sms) == sorted((r.to_number, r.body) for r in rows)
