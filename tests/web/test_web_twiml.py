"""The TwiML read to people on voice call-outs, built with the Twilio SDK; and what the dispatcher hands a gateway
for a call: the row's text and language, and the keypress URL under the public URL."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from web_hooks_support import PUBLIC_URL, twilio_context

from responder.gateways.fake import FakeGateway
from responder.gateways.twilio.twiml import call_twiml, confirmed_twiml, say_language
from responder.storage.db import transaction
from responder.storage.models import OutboxRow
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher

GATHER = PUBLIC_URL + "/twilio/voice/7/gather"


def parse(xml: str) -> ET.Element:
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(xml.encode())


def test_the_message_is_read_inside_a_gather_then_repeated() -> None:
    root = parse(call_twiml("洪涝黄色预警，3级。确认收到请按1。", "zh", GATHER))
    assert root.tag == "Response"
    gathers = list(root)
    assert [g.tag for g in gathers] == ["Gather", "Gather"]
    for gather in gathers:
        assert gather.attrib == {"numDigits": "1", "action": GATHER, "method": "POST", "timeout": "8"}
        [say] = list(gather)
        assert say.tag == "Say" and say.get("language") == "cmn-CN" and say.text == "洪涝黄色预警，3级。确认收到请按1。"


def test_the_repeat_can_be_left_out() -> None:
    root = parse(call_twiml("Press 1.", "en", GATHER, repeats=0))
    [gather] = list(root)
    assert gather.tag == "Gather" and gather[0].get("language") == "en-US"


def test_without_a_gather_url_the_message_is_only_read() -> None:
    root = parse(call_twiml("Press 1.", "en", None))
    assert [(e.tag, e.text) for e in root] == [("Say", "Press 1."), ("Say", "Press 1.")]


@pytest.mark.parametrize(("language", "expected"), [("zh", "cmn-CN"), ("en", "en-US"), ("EN", "en-US"),
                                                    ("fr-FR", "fr-FR"), ("yue-HK", "yue-HK")])
def test_languages(language: str, expected: str) -> None:
    assert say_language(language) == expected
    [say] = parse(call_twiml("x", language, None, repeats=0))
    assert say.get("language") == expected


def test_text_is_escaped_and_characters_xml_cannot_carry_are_dropped() -> None:
    text = 'Level <3> & "rising"\x00\x07 at 堤\x1b'
    [say] = parse(call_twiml(text, "en", GATHER + "?a=1&b=2", repeats=0))[0]
    assert say.text == 'Level <3> & "rising" at 堤'
    assert parse(call_twiml(text, "en", GATHER + "?a=1&b=2"))[0].get("action") == GATHER + "?a=1&b=2"


@pytest.mark.parametrize(("language", "text", "say_language_"), [
    ("zh", "已确认，谢谢。", "cmn-CN"), ("en", "Confirmed, thank you.", "en-US"),
    ("de-DE", "Confirmed, thank you.", "de-DE"),
])
def test_confirmed(language: str, text: str, say_language_: str) -> None:
    root = parse(confirmed_twiml(language))
    assert [e.tag for e in root] == ["Say", "Hangup"]
    assert root[0].text == text and root[0].get("language") == say_language_
    assert parse(confirmed_twiml("zh", "已确认收到（E2），谢谢。"))[0].text == "已确认收到（E2），谢谢。"


def _voice_row(ctx: AppContext, language: str, body: str) -> int:
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        row = OutboxRow(incident_id=None, person_id="O003", channel="voice", to_number="+8617400023757",
                        body=body, language=language, kind="voice", created_at=now, due_at=now, deadline_at=now)
        session.add(row)
        session.flush()
        return row.id


def test_a_call_carries_the_rows_text_and_language_and_the_keypress_url_under_the_public_url(
        sqlite_ctx: AppContext) -> None:
    ctx = twilio_context(sqlite_ctx)
    zh, en = _voice_row(ctx, "zh", "洪涝预警，请按1确认。"), _voice_row(ctx, "en", "Press 1.")
    gateway = FakeGateway(clock=ctx.clock)
    Dispatcher(ctx, gateway, concurrency=1).drain()
    calls = {c.reference: c for c in gateway.calls}
    assert (calls[str(zh)].body, calls[str(zh)].language, calls[str(zh)].keypress_url) == (
        "洪涝预警，请按1确认。", "zh", f"{PUBLIC_URL}/twilio/voice/{zh}/gather")
    assert (calls[str(en)].body, calls[str(en)].language) == ("Press 1.", "en")


def test_without_a_public_url_a_call_has_nowhere_to_send_its_keypress(sqlite_ctx: AppContext) -> None:
    ctx = twilio_context(sqlite_ctx, public_url=None)
    row = _voice_row(ctx, "zh", "请按1确认。")
    gateway = FakeGateway(clock=ctx.clock)
    Dispatcher(ctx, gateway, concurrency=1).drain()
    [call] = gateway.calls
    assert (call.reference, call.keypress_url) == (str(row), None)
    assert [e.tag for e in parse(call_twiml(call.body, call.language or "", call.keypress_url))] == ["Say", "Say"]
