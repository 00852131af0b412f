"""The specification's rules the schema cannot express (CAP 1.2 section 3): each check catches its
violation, including those the OASIS schema lets through."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from cap_support import incident, sample_plan, schema_errors

from responder.cap.schema import problems
from responder.cap.xml_writer import to_xml
from responder.domain.cap import build_messages
from responder.domain.cap_model import Alert, cap_time, parse_cap_time
from responder.domain.cap_rules import circle_problem, polygon_problem, violations


def _messages() -> list[Alert]:
    return build_messages(sample_plan(), incident())


def _with_area(alert: Alert, **changes: object) -> Alert:
    info = alert.infos[0]
    area = replace(info.areas[0], **changes)
    return replace(alert, infos=(replace(info, areas=(area, *info.areas[1:])), *alert.infos[1:]))


def _with_info(alert: Alert, **changes: object) -> Alert:
    return replace(alert, infos=(replace(alert.infos[0], **changes), *alert.infos[1:]))


UPDATE = 1
CASES = [
    # (id, message index, change, words in the violation, does the XSD alone catch it?)
    ("identifier-space", 0, lambda a: replace(a, identifier="sanjian flood 1"), "identifier", False),
    ("identifier-comma", 0, lambda a: replace(a, identifier="sanjian,1"), "identifier", False),
    ("identifier-lt", 0, lambda a: replace(a, identifier="a<b"), "identifier", False),
    ("identifier-amp", 0, lambda a: replace(a, identifier="a&b"), "identifier", False),
    ("sender-space", 0, lambda a: replace(a, sender="flood office@sanjian.example"), "sender", False),
    ("sent-fraction", 0, lambda a: replace(a, sent="2027-07-01T09:00:00.5+08:00"), "fraction", True),
    ("sent-zulu", 0, lambda a: replace(a, sent="2027-07-01T01:00:00Z"), "letter time zone", True),
    ("sent-no-offset", 0, lambda a: replace(a, sent="2027-07-01T09:00:00"), "no offset", True),
    ("sent-utc-plus", 0, lambda a: replace(a, sent="2027-07-01T01:00:00+00:00"), "-00:00", False),
    ("sent-not-a-day", 0, lambda a: replace(a, sent="2027-02-30T09:00:00+08:00"), "not a real date", True),
    ("expires-zulu", 0, lambda a: _with_info(a, expires="2027-07-02T01:00:00Z"), "info[0].expires", True),
    ("update-unreferenced", UPDATE, lambda a: replace(a, references=None), "must reference", False),
    ("references-pair", UPDATE, lambda a: replace(a, references="flood-office@sanjian.example,x"),
     "not sender,identifier,sent", False),
    ("references-bad-time", UPDATE, lambda a: replace(a, references="s,x,2027-07-01T09:00:00Z"),
     "references[0].sent", False),
    ("references-comma-list", UPDATE, lambda a: replace(a, references=a.references + ",s,y,2027-07-01T09:00:00+08:00"),
     "not sender,identifier,sent", False),
    ("polygon-open", 0, lambda a: _with_area(a, polygons=("29.9,108.1 29.95,108.2 29.8,108.15 29.85,108.1",)),
     "not closed", False),
    ("polygon-three-pairs", 0, lambda a: _with_area(a, polygons=("29.9,108.1 29.95,108.2 29.9,108.1",)),
     "at least 4", False),
    ("polygon-swapped", 0, lambda a: _with_area(a, polygons=("108.1,29.9 108.2,29.95 108.15,29.8 108.1,29.9",)),
     "latitude 108.1 is outside", False),
    ("polygon-not-pairs", 0, lambda a: _with_area(a, polygons=("29.9 108.1 29.95 108.2",)), "not a latitude", False),
    ("circle-no-radius", 0, lambda a: _with_area(a, circles=("29.95,108.13",)), "latitude,longitude radius", False),
    ("circle-negative", 0, lambda a: _with_area(a, circles=("29.95,108.13 -1",)), "radius", False),
    ("language", 0, lambda a: _with_info(a, language="zh_CN"), "RFC 3066", True),
    ("ceiling-alone", 0, lambda a: _with_area(a, ceiling="100"), "only with altitude", False),
    ("restricted-scope", 0, lambda a: replace(a, scope="Restricted"), "restriction", False),
]


@pytest.mark.parametrize(("index", "change", "words", "schema_catches"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_each_rule_catches_its_violation(index: int, change, words: str, schema_catches: bool) -> None:
    good = _messages()[index]
    assert violations(good) == []
    bad = change(good)
    found = violations(bad)
    assert any(words in v for v in found), found
    if not schema_catches:
        # The schema lets it through: only our own check stands between it and a hub.
        assert schema_errors(to_xml(bad)) == []
        assert problems(to_xml(bad)) == found


def test_a_cancel_without_references_is_caught() -> None:
    cancel = _messages()[-1]
    assert "references: a Cancel must reference the earlier message(s)" in violations(replace(cancel, references=""))


def test_an_error_message_needs_a_note() -> None:
    error = replace(_messages()[1], msg_type="Error", note=None)
    assert "note: required on an Error message" in violations(error)


@pytest.mark.parametrize(("text", "problem"), [
    ("38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14", None),
    ("38.47,-120.14 38.34,-119.95 38.52,-119.74 38.47,-120.140", None),
    ("38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89", "not closed"),
    ("38.47,-200 38.34,-119.95 38.52,-119.74 38.47,-200", "longitude -200 is outside"),
])
def test_polygon_rule(text: str, problem: str | None) -> None:
    found = polygon_problem(text)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_circle_rule() -> None:
    assert circle_problem("32.9525,-115.5527 0") is None
    assert circle_problem("32.9525,-115.5527 x") is not None


def test_cap_time_form() -> None:
    shanghai = datetime(2027, 7, 1, 9, 0, 0, 999999, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert cap_time(shanghai) == "2027-07-01T09:00:00+08:00"
    assert cap_time(datetime(2027, 7, 1, 1, 0, tzinfo=UTC)) == "2027-07-01T01:00:00-00:00"
    assert cap_time(datetime(2027, 7, 1, 1, 0, tzinfo=timezone(timedelta(hours=-3, minutes=-30)))) \
        == "2027-07-01T01:00:00-03:30"
    with pytest.raises(ValueError, match="time zone"):
        cap_time(datetime(2027, 7, 1, 1, 0))
    assert parse_cap_time("2027-07-01T01:00:00-00:00") == datetime(2027, 7, 1, 1, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a CAP time"):
        parse_cap_time("2027-07-01T01:00:00Z")
