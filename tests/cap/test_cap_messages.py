"""An incident's history as CAP 1.2 messages: every kind validates against the OASIS schema (from
../shared) and keeps the specification's rules; what each field says comes from the plan."""

from __future__ import annotations

import re
from typing import Any

import pytest
from cap_support import FULL_HISTORY, event, incident, sample_plan, schema_errors, shared_cap, without_shapes

from responder.cap.schema import SCHEMA_FILE
from responder.cap.xml_writer import to_xml
from responder.domain.cap import build_messages, incident_key, message_level, parse_identifier
from responder.domain.cap_model import Alert
from responder.domain.cap_rules import violations


@pytest.mark.parametrize("shapes", [True, False], ids=["polygons", "codes-only"])
@pytest.mark.parametrize("drill", [False, True], ids=["actual", "exercise"])
def test_every_kind_validates_and_keeps_the_rules(drill: bool, shapes: bool) -> None:
    plan = sample_plan() if shapes else sample_plan(without_shapes)
    messages = build_messages(plan, incident(is_drill=drill))
    assert [m.msg_type for m in messages] == ["Alert", "Update", "Update", "Cancel"]
    for m in messages:
        assert m.status == ("Exercise" if drill else "Actual") and m.scope == "Public"
        assert [i.language for i in m.infos] == ["zh-CN", "en-US"]
        assert schema_errors(to_xml(m)) == [], m.identifier
        assert violations(m) == [], m.identifier
        polygons = [p for i in m.infos for a in i.areas for p in a.polygons]
        circles = [c for i in m.infos for a in i.areas for c in a.circles]
        codes = [g for i in m.infos for a in i.areas for g in a.geocodes]
        assert bool(polygons) == shapes and codes, m.identifier
        if not shapes:
            assert circles == []
    evacuation = messages[1].infos[0].areas
    assert len(evacuation) == 4 and (bool(evacuation[3].circles) == shapes)


def test_the_package_schema_is_the_oasis_one() -> None:
    assert SCHEMA_FILE.read_bytes() == (shared_cap() / "CAP-v1.2.xsd").read_bytes()


def test_updates_and_the_cancel_reference_every_earlier_message() -> None:
    messages = build_messages(sample_plan(), incident())
    assert messages[0].references is None
    for n in range(1, 4):
        expected = " ".join(f"flood-office@sanjian.example,{m.identifier},{m.sent}" for m in messages[:n])
        assert messages[n].references == expected
    assert len(messages[3].references.split()) == 3
    assert {m.incidents for m in messages} == {incident_key(sample_plan(), sample_plan().cap, incident())}


def test_times_are_the_audit_events_in_the_plan_zone_to_the_second() -> None:
    messages = build_messages(sample_plan(), incident())
    assert [m.sent for m in messages] == ["2027-07-01T09:00:00+08:00", "2027-07-01T10:00:00+08:00",
                                          "2027-07-01T12:00:00+08:00", "2027-07-01T19:00:00+08:00"]
    info = messages[0].infos[0]
    assert (info.effective, info.expires) == ("2027-07-01T09:00:00+08:00", "2027-07-02T09:00:00+08:00")


@pytest.mark.parametrize(("zone", "sent"), [("UTC", "2027-07-01T01:00:00-00:00"),
                                            ("America/Los_Angeles", "2027-06-30T18:00:00-07:00"),
                                            ("Asia/Kolkata", "2027-07-01T06:30:00+05:30")])
def test_other_zones_keep_the_cap_form(zone: str, sent: str) -> None:
    def move(data: dict[str, Any]) -> None:
        data["area"]["timezone"] = zone

    message = build_messages(sample_plan(move), incident())[0]
    assert message.sent == sent
    assert schema_errors(to_xml(message)) == [] and violations(message) == []


def _meaning(m: Alert) -> tuple[str, str, str, tuple[str, ...]]:
    i = m.infos[0]
    return i.urgency, i.severity, i.certainty, i.response_types


def test_levels_map_to_urgency_severity_and_certainty() -> None:
    messages = build_messages(sample_plan(), incident())
    assert [_meaning(m) for m in messages] == [
        ("Expected", "Moderate", "Likely", ("Prepare",)),               # 3 yellow
        ("Immediate", "Extreme", "Observed", ("Evacuate", "Prepare")),  # 1 red, the plan evacuates at 1
        ("Expected", "Severe", "Likely", ("Prepare",)),                 # 2 orange
        ("Past", "Minor", "Observed", ("AllClear",)),                   # stand-down
    ]
    blue = build_messages(sample_plan(), incident((event(0, "raised", None, 4),)))[0]
    assert _meaning(blue) == ("Future", "Minor", "Possible", ("Monitor",))
    assert [message_level(m) for m in messages] == [3, 1, 2, 2]
    assert [m.infos[1].parameter("colour") for m in messages] == ["yellow", "red", "orange", "orange"]


def test_the_defaults_apply_without_levels_and_the_plan_can_change_them() -> None:
    def defaults(data: dict[str, Any]) -> None:
        del data["cap"]["levels"]

    def custom(data: dict[str, Any]) -> None:
        data["cap"]["levels"][3] = {"urgency": "Future", "severity": "Severe", "certainty": "Possible"}

    assert [_meaning(m) for m in build_messages(sample_plan(defaults), incident())] == \
        [_meaning(m) for m in build_messages(sample_plan(), incident())]
    assert _meaning(build_messages(sample_plan(custom), incident())[0]) == ("Future", "Severe", "Possible", ())


def test_the_words_come_from_the_plan_in_each_language() -> None:
    alert, red, _, cancel = build_messages(sample_plan(), incident())
    zh, en = red.infos
    assert (zh.event, en.event) == ("洪水预警", "Flood warning")
    assert zh.headline == "三建乡洪涝预警升级为红色（1级）"
    assert en.headline == "Sanjian Township: flood warning raised to red (level 1)"
    assert "由3级升至红色1级（上游出现溃坝洪水）：上游溃坝" in (zh.description or "")
    assert en.instruction is not None and "the schools → safe classrooms" in en.instruction
    assert (zh.sender_name, en.sender_name) == ("三建乡防汛抗旱指挥部", "Sanjian Township flood and drought HQ")
    assert zh.web == "https://sanjian.example/flood" and en.contact == "Sanjian flood office duty room (staffed 24 h)"
    assert [a.description for a in en.areas][1] == ("from the health centre to the former business office "
                                                    "(shelter: the former savings office)")
    assert len(alert.infos[0].areas) == 1, "level 3 does not evacuate: the affected area only"
    assert cancel.infos[1].instruction == "The warning is lifted. Take care, and return when the township says so."
    assert alert.infos[0].areas[0].polygons[0].startswith("29.9895,108.1102 ")


def test_a_drill_is_an_exercise_and_says_so() -> None:
    messages = build_messages(sample_plan(), incident(is_drill=True))
    for m in messages:
        assert m.status == "Exercise" and m.note == "演练，非真实预警 / Exercise: not a real warning"
        zh, en = m.infos
        assert zh.headline is not None and zh.headline.startswith("【演练】")
        assert en.headline is not None and en.headline.startswith("[DRILL]")


def test_drought_has_its_own_event_categories_and_instructions() -> None:
    message = build_messages(sample_plan(), incident((event(0, "raised", None, 2, "人饮困难"),), hazard="drought"))[0]
    zh, en = message.infos
    assert zh.categories == ("Met", "Env") and en.event == "Drought warning"
    assert en.instruction == "Household water comes first: collect water as your village group arranges; " \
                             "do not fight over sources."


def test_identifiers_are_unique_safe_and_name_their_incident() -> None:
    messages = build_messages(sample_plan(), incident())
    ids = [m.identifier for m in messages]
    assert ids == [f"sanjian-flood-20270701T010000Z-7-{n}" for n in (1, 2, 3, 4)]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", i) for i in ids)
    assert [parse_identifier(i) for i in ids] == [(7, 1), (7, 2), (7, 3), (7, 4)]
    assert parse_identifier("no-numbers-here") is None


def test_a_plan_without_a_cap_section_has_no_messages() -> None:
    def drop(data: dict[str, Any]) -> None:
        del data["cap"]

    with pytest.raises(ValueError, match="no cap: section"):
        build_messages(sample_plan(drop), incident(FULL_HISTORY))

