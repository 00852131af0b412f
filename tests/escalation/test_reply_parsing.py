"""Reading SMS replies: what confirms, what names an incident, and what is only a note for the duty officer."""

from __future__ import annotations

import pytest

from responder.domain.replies import parse_reply


@pytest.mark.parametrize(("body", "code"), [
    ("1", None),
    ("1 K7", "K7"),
    ("1K7", "K7"),
    ("1k7", "K7"),
    ("k7 1", "K7"),
    ("K7 1", "K7"),
    ("ok", None),
    ("OK", None),
    ("Ok", None),
    ("okay", None),
    ("yes", None),
    ("YES", None),
    ("y", None),
    ("收到", None),
    ("确认", None),
    ("已收到", None),
    ("好的", None),
    ("好", None),
    ("明白", None),
    ("到", None),
    ("１", None),                 # full-width digit, as phones in Chinese input mode send it
    ("１　Ｋ７", "K7"),            # full-width digit, ideographic space and full-width code
    ("１Ｋ７", "K7"),
    ("1。", None),
    ("1!", None),
    ("ok.", None),
    ("OK!", None),
    ("收到！", None),
    ("确认。", None),
    ("好的，收到", None),
    ("收到，K7", "K7"),
    ("1, K7", "K7"),
    ("1，K7。", "K7"),
    ("1：K7", "K7"),
    ("  1  ", None),
    ("\n1\n", None),
    ("yes K7", "K7"),
])
def test_confirmations(body: str, code: str | None) -> None:
    reply = parse_reply(body)
    assert reply.confirms, body
    assert reply.code == code, body


@pytest.mark.parametrize("body", [
    "where?",
    "where is the meeting?",
    "2",
    "no",
    "NO",
    "不",
    "不去",
    "11",
    "12",
    "1 2",
    "0",
    "not ok",
    "ok? where",
    "我在外地，去不了",
    "",
    "   ",
    "。",
])
def test_not_confirmations(body: str) -> None:
    reply = parse_reply(body)
    assert not reply.confirms, body


def test_a_bare_code_confirms_that_incident() -> None:
    for body in ("K7", "k7", "Ｋ７", " K7。"):
        reply = parse_reply(body)
        assert reply.confirms and reply.code == "K7", body


def test_a_code_in_a_note_is_kept_but_does_not_confirm() -> None:
    reply = parse_reply("K7 where do we meet")
    assert not reply.confirms and reply.code == "K7"


def test_letters_that_are_never_in_codes_are_not_codes() -> None:
    """Codes use no I or O (they read as 1 and 0): "O5" or "I3" is not a code, so nothing is confirmed."""
    for body in ("O5", "I3", "1 O5"):
        reply = parse_reply(body)
        assert reply.code is None and not reply.confirms, body


def test_the_text_is_kept_normalised() -> None:
    assert parse_reply("  １　Ｋ７ ").text == "1 K7"
