"""The loudspeaker script as pure domain code: evacuation lines only where the level evacuates, no doubled
punctuation, speech without brackets and with 点 for a decimal point, a located refusal without a template."""

from __future__ import annotations

from pathlib import Path

import pytest

from responder.configfiles.plan_file import read_plan
from responder.domain.broadcast import broadcast_script, speakable
from responder.domain.errors import InputError
from responder.domain.messages import IncidentFacts
from responder.domain.plan import Plan

PLAN_FILE = Path(__file__).resolve().parents[2] / "config" / "plan.yaml"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return read_plan(PLAN_FILE).plan


def test_zones_are_read_only_where_the_level_evacuates(plan: Plan) -> None:
    flood = broadcast_script(plan, IncidentFacts("K7", "flood", 1, "上游溃坝"), "zh")
    drought = broadcast_script(plan, IncidentFacts("K8", "drought", 1, "连续干旱40天"), "zh")
    stretch = plan.evacuation_zones[0].stretch["zh"]
    assert stretch in flood.once and stretch not in drought.once
    assert "撤离" not in drought.text


def test_a_reason_ending_a_sentence_is_not_doubled(plan: Plan) -> None:
    script = broadcast_script(plan, IncidentFacts("K7", "flood", 2, "龙河水位超警戒线。"), "zh")
    assert "。。" not in script.text and "龙河水位超警戒线。" in script.once


def test_the_text_is_read_twice_and_the_drill_is_said_in_words(plan: Plan) -> None:
    script = broadcast_script(plan, IncidentFacts("K7", "flood", 3, "水位4.2米", is_drill=True), "zh")
    assert script.text == f"{script.once}\n\n现在重复一遍。\n{script.once}\n"
    assert script.once.startswith("【演练】")
    first, second = script.spoken
    assert first.startswith("演练。") and second.startswith("现在重复一遍。 演练。")
    assert "4点2米" in first and "【" not in first + second


def test_speakable_drops_brackets_and_reads_decimal_points() -> None:
    assert speakable("【三建乡】水位4.65米，雨量120毫米", "zh") == "三建乡 水位4点65米，雨量120毫米"
    assert speakable("[DRILL] at 4.65 m", "en") == "DRILL at 4.65 m"


def test_a_plan_without_the_template_is_refused_with_its_field(plan: Plan) -> None:
    older = plan.model_copy(update={"templates": plan.templates.model_copy(update={"broadcast": None})})
    with pytest.raises(InputError) as caught:
        broadcast_script(older, IncidentFacts("K7", "flood", 2, "水位"), "zh")
    assert caught.value.problems[0].field == "templates.broadcast"
