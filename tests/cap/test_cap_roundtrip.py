"""One reader for every sender: responder's own messages and the four OASIS examples parse with the same
code, and a message read back gives the same fields (and written again, the same bytes)."""

from __future__ import annotations

import pytest
from cap_support import incident, oasis_examples, sample_plan, schema_errors, without_shapes

from responder.cap.xml_reader import CapParseError, parse
from responder.cap.xml_writer import to_xml
from responder.domain.cap import build_messages
from responder.domain.cap_model import NamedValue
from responder.domain.cap_rules import violations


@pytest.mark.parametrize("shapes", [True, False], ids=["polygons", "codes-only"])
@pytest.mark.parametrize("drill", [False, True], ids=["actual", "exercise"])
def test_our_messages_round_trip(drill: bool, shapes: bool) -> None:
    plan = sample_plan() if shapes else sample_plan(without_shapes)
    for message in build_messages(plan, incident(is_drill=drill)):
        data = to_xml(message)
        back = parse(data)
        assert back == message
        assert to_xml(back) == data


def test_the_four_oasis_examples_parse_and_survive_a_round_trip() -> None:
    read = {path.name.split("-")[1]: parse(path.read_bytes()) for path in oasis_examples()}
    a1, a2, a3, a4 = read["A1"], read["A2"], read["A3"], read["A4"]
    assert (a1.identifier, a1.sender, a1.sent) == ("43b080713727", "hsas@dhs.gov", "2003-04-02T14:39:01-05:00")
    assert a1.infos[0].language is None and a1.infos[0].resources[0].mime_type == "image/gif"
    assert a1.infos[0].parameters == (NamedValue("HSAS", "ORANGE"),)
    assert a2.infos[0].areas[0].polygons == ("38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14",)
    assert [g.value for g in a2.infos[0].areas[0].geocodes] == ["006109", "006009", "006003"]
    assert a2.infos[0].response_types == ("Shelter",) and a2.infos[0].expires == "2003-06-17T16:00:00-07:00"
    assert (a3.msg_type, a3.references) == ("Update", "trinet@caltech.edu,TRI13970876.1,2003-06-11T20:30:00-07:00")
    assert a3.infos[0].areas[0].circles == ("32.9525,-115.5527 0",)
    assert [i.language for i in a4.infos] == ["en-US", "es-US"] and a4.source == "SW"
    assert a4.infos[1].event == "Abducción de Niño"
    for path in oasis_examples():
        alert = parse(path.read_bytes())
        assert violations(alert) == [], path.name
        again = to_xml(alert)
        assert schema_errors(again) == [] and parse(again) == alert


@pytest.mark.parametrize(("data", "why"), [
    (b"<alert><identifier>x</identifier></alert>", "not a CAP 1.2 <alert>"),
    (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>', "not a CAP 1.2 <alert>"),
    (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><sender>s</sender></alert>', "has no <identifier>"),
    (b"<alert", "not well-formed"),
    (b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
     b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&e;</identifier></alert>', "has no <sender>"),
])
def test_what_is_not_cap_is_refused_with_where(data: bytes, why: str) -> None:
    with pytest.raises(CapParseError, match=why):
        parse(data)
