"""The console gateway is the safe default: it must print everything readably, Chinese included."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from responder.domain.clock import FakeClock
from responder.gateways.base import OutgoingCall, OutgoingSms
from responder.gateways.console import ConsoleGateway

TO = "+8613800138000"


def test_prints_sms_and_calls_with_time_recipient_sender_and_body(clock: FakeClock) -> None:
    out = io.StringIO()
    gateway = ConsoleGateway(stream=out, clock=clock, run="t")
    first = gateway.send_sms(OutgoingSms(to=TO, body="水位警报\n请回复 1 确认", sender="+15005550006", reference="42"))
    call = gateway.place_call(OutgoingCall(to=TO, text="洪水", language="zh"))
    assert (first.sid, first.status, call.sid) == ("CONSOLE-t-1", "sent", "CONSOLE-t-2")
    assert out.getvalue() == (
        "[2027-07-01 01:00:00Z] SMS CONSOLE-t-1 to +8613800138000 from +15005550006 ref 42\n"
        "    水位警报\n"
        "    请回复 1 确认\n"
        "[2027-07-01 01:00:00Z] CALL CONSOLE-t-2 to +8613800138000 from (default)\n"
        "    洪水\n"
    )


def test_defaults_to_the_current_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    gateway = ConsoleGateway()
    gateway.send_sms(OutgoingSms(to=TO, body="hello"))
    assert f"SMS CONSOLE-{gateway.ids.run}-1 to +8613800138000" in capsys.readouterr().out


def test_ids_differ_between_gateways_as_between_processes() -> None:
    """Each process builds its own gateway: ids restarting at CONSOLE-1 clashed in the outbox from the second."""
    first, second = (ConsoleGateway(stream=io.StringIO()).send_sms(OutgoingSms(to=TO, body="x")).sid for _ in "ab")
    assert first != second and first.startswith("CONSOLE-") and first.endswith("-1")


def test_a_console_that_cannot_show_chinese_gets_escapes_not_a_crash() -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    ConsoleGateway(stream=out).send_sms(OutgoingSms(to=TO, body="洪水"))
    assert b"\\u6d2a\\u6c34" in raw.getvalue()


def test_sent_since_reports_what_was_printed(clock: FakeClock) -> None:
    gateway = ConsoleGateway(stream=io.StringIO(), clock=clock)
    gateway.send_sms(OutgoingSms(to=TO, body="old"))
    since = clock.advance(timedelta(seconds=10))
    new = gateway.send_sms(OutgoingSms(to=TO, body="new"))
    records = gateway.sent_since(TO, since)
    assert records is not None and [(r.sid, r.body) for r in records] == [(new.sid, "new")]
    assert len(gateway.records) == 2
