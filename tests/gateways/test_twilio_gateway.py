"""The real Twilio SDK, through TwilioGateway, against the local stub server: every error path ends up as one
of our two error kinds, with Twilio's code kept."""

from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from process_support import FROM
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.response import Response

from responder.domain.clock import FakeClock
from responder.gateways.base import (
    GatewayError,
    OutgoingCall,
    OutgoingSms,
    PermanentError,
    RetryableError,
)
from responder.gateways.twilio.gateway import TwilioGateway, classify
from responder.gateways.twilio.twiml import call_twiml
from responder.testing import Respond, TwilioStubServer

TO = "+8613800138000"
OTHER = "+8613900139000"
CALLBACK = "https://responder.example/twilio/status"
SPOKEN = "洪水警报，请按1确认"
KEYPRESS = "https://responder.example/twilio/voice/7/gather"


@pytest.fixture
def stub(clock: FakeClock) -> Iterator[TwilioStubServer]:
    with TwilioStubServer(clock=clock) as server:
        yield server
    assert server.internal_errors == []


def make_gateway(stub: TwilioStubServer, **overrides: object) -> TwilioGateway:
    options: dict[str, object] = {"from_number": FROM, "api_base_url": stub.url, "status_callback": CALLBACK,
                                  "timeout": 5}
    options.update(overrides)
    return TwilioGateway(stub.account_sid, stub.auth_token, **options)  # type: ignore[arg-type]


@pytest.fixture
def gateway(stub: TwilioStubServer) -> Iterator[TwilioGateway]:
    with make_gateway(stub) as gw:
        yield gw


def sms(to: str = TO, body: str = "Flood warning: test") -> OutgoingSms:
    return OutgoingSms(to=to, body=body)


def test_send_sms_returns_twilio_sid_and_chinese_round_trips(gateway: TwilioGateway, stub: TwilioStubServer) -> None:
    body = "【防汛】红色预警：请立即前往集合点。回复 1 确认。"
    accepted = gateway.send_sms(sms(body=body))
    assert accepted.sid.startswith("SM") and len(accepted.sid) == 34
    assert accepted.status == "queued"
    [received] = stub.messages
    assert (received.sid, received.to, received.from_, received.body) == (accepted.sid, TO, FROM, body)
    assert received.status_callback == CALLBACK


def test_message_sender_and_callback_override_the_defaults(stub: TwilioStubServer) -> None:
    with make_gateway(stub, messaging_service_sid="MG" + "1" * 32) as gateway:
        gateway.send_sms(sms())
        gateway.send_sms(OutgoingSms(to=TO, body="b", sender="+15005550001", status_callback="https://x/cb"))
    first, second = stub.messages
    assert (first.messaging_service_sid, first.from_) == ("MG" + "1" * 32, None)
    assert (second.from_, second.status_callback) == ("+15005550001", "https://x/cb")


@pytest.mark.parametrize(("status", "code"), [(429, "20429"), (500, "20500"), (503, "20503")])
def test_rate_limits_and_server_errors_are_retryable(gateway: TwilioGateway, stub: TwilioStubServer,
                                                     status: int, code: str) -> None:
    stub.script(Respond(status=status))
    with pytest.raises(RetryableError) as caught:
        gateway.send_sms(sms())
    assert caught.value.code == code
    assert gateway.send_sms(sms()).sid  # the script is used up: back to normal


@pytest.mark.parametrize("rfc9457", [False, True], ids=["TwilioRestException", "TwilioServiceException"])
@pytest.mark.parametrize("code", [21211, 21610, 21614])
def test_invalid_or_unsubscribed_numbers_are_permanent(gateway: TwilioGateway, stub: TwilioStubServer,
                                                       code: int, rfc9457: bool) -> None:
    stub.script(Respond(status=400, code=code, message="The 'To' number is not a valid phone number.",
                        rfc9457=rfc9457))
    with pytest.raises(PermanentError) as caught:
        gateway.send_sms(sms())
    assert caught.value.code == str(code)
    assert isinstance(caught.value.__cause__, TwilioServiceException if rfc9457 else TwilioRestException)


def test_a_failing_number_does_not_affect_others(gateway: TwilioGateway, stub: TwilioStubServer) -> None:
    stub.fail_number(OTHER, status=400, code=21610)
    with pytest.raises(PermanentError, match="unsubscribed"):
        gateway.send_sms(sms(to=OTHER))
    gateway.send_sms(sms(to=TO))
    assert [m.to for m in stub.messages] == [TO]


def test_malformed_number_is_refused_by_twilio(gateway: TwilioGateway) -> None:
    with pytest.raises(PermanentError) as caught:
        gateway.send_sms(sms(to="13800138000"))
    assert caught.value.code == "21211"


def test_slow_response_beyond_the_timeout_is_retryable(stub: TwilioStubServer) -> None:
    stub.script(Respond(delay=5.0))
    with make_gateway(stub, timeout=0.3) as gateway:
        started = time.monotonic()
        with pytest.raises(RetryableError, match="timed out"):
            gateway.send_sms(sms())
        assert time.monotonic() - started < 2


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with TwilioGateway("AC" + "0" * 32, "token", from_number=FROM, api_base_url=f"http://127.0.0.1:{port}",
                       timeout=2) as gateway, pytest.raises(RetryableError, match="connection failed"):
        gateway.send_sms(sms())


def test_wrong_auth_token_is_permanent(stub: TwilioStubServer) -> None:
    with TwilioGateway(stub.account_sid, "wrong", from_number=FROM, api_base_url=stub.url) as gateway:
        with pytest.raises(PermanentError) as caught:
            gateway.send_sms(sms())
        assert caught.value.code == "20003"
        assert gateway.sent_since(TO, stub.clock.now()) is None
    assert stub.messages == []


def test_place_call_sends_twiml_from_the_gateway_number(gateway: TwilioGateway, stub: TwilioStubServer) -> None:
    """The call carries text, language and keypress URL; the adapter reads them out as TwiML of its own making."""
    accepted = gateway.place_call(OutgoingCall(to=TO, text=SPOKEN, language="zh", keypress_url=KEYPRESS))
    assert accepted.sid.startswith("CA") and accepted.status == "queued"
    [call] = stub.calls
    assert (call.sid, call.to, call.from_, call.status_callback) == (accepted.sid, TO, FROM, CALLBACK)
    assert call.twiml == call_twiml(SPOKEN, "zh", KEYPRESS)
    assert call.twiml is not None
    gathers = ET.fromstring(call.twiml.encode()).findall("Gather")
    assert gathers and all(g.get("action") == KEYPRESS for g in gathers)
    assert [(g[0].text, g[0].get("language")) for g in gathers] == [(SPOKEN, "cmn-CN")] * len(gathers)


def test_place_call_needs_a_number_not_a_messaging_service(stub: TwilioStubServer) -> None:
    with make_gateway(stub, from_number=None, messaging_service_sid="MG" + "1" * 32) as gateway:
        with pytest.raises(PermanentError, match="caller number"):
            gateway.place_call(OutgoingCall(to=TO, text=SPOKEN, language="zh", keypress_url=KEYPRESS))
        gateway.send_sms(sms())  # SMS still go through the messaging service
    assert stub.calls == [] and len(stub.messages) == 1


def test_call_errors_are_mapped_too(gateway: TwilioGateway, stub: TwilioStubServer) -> None:
    stub.script(Respond(status=429))
    with pytest.raises(RetryableError):
        gateway.place_call(OutgoingCall(to=TO, text=SPOKEN, language="zh", keypress_url=KEYPRESS))
    stub.fail_number(TO, code=21211)
    with pytest.raises(PermanentError):
        gateway.place_call(OutgoingCall(to=TO, text=SPOKEN, language="zh", keypress_url=KEYPRESS))


def test_sent_since_lists_messages_to_that_number_after_the_time(gateway: TwilioGateway, stub: TwilioStubServer,
                                                                 clock: FakeClock) -> None:
    gateway.send_sms(sms(body="before"))
    since = clock.advance(timedelta(minutes=5))
    kept = gateway.send_sms(sms(body="洪水 after"))
    gateway.send_sms(sms(to=OTHER, body="someone else"))
    clock.advance(timedelta(seconds=30))
    later = gateway.send_sms(sms(body="later"))

    records = gateway.sent_since(TO, since)

    assert records is not None
    assert sorted((r.sid, r.body) for r in records) == sorted([(kept.sid, "洪水 after"), (later.sid, "later")])
    assert all(r.to == TO and r.created_at >= since and r.created_at.tzinfo for r in records)
    assert gateway.sent_since(TO, clock.advance(timedelta(hours=1))) == []


def test_sent_since_is_none_when_twilio_cannot_answer(gateway: TwilioGateway, stub: TwilioStubServer) -> None:
    stub.script(Respond(status=500))
    assert gateway.sent_since(TO, stub.clock.now()) is None


def test_twilio_edge_in_the_environment_does_not_bypass_the_local_server(
        stub: TwilioStubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    with make_gateway(stub) as gateway:
        gateway.send_sms(sms())
    assert len(stub.messages) == 1


def test_without_any_sender_the_send_is_permanent(stub: TwilioStubServer) -> None:
    with make_gateway(stub, from_number=None) as gateway, pytest.raises(PermanentError, match="no sender"):
        gateway.send_sms(sms())


# classify: the one place vendor errors become ours


def rest(status: int, code: int | None) -> TwilioRestException:
    return TwilioRestException(status, "/Messages.json", "Unable to create record", code, "POST")


def service(status: int, code: int) -> TwilioServiceException:
    return TwilioServiceException("https://www.twilio.com/docs/errors/x", "Bad Request", status, code,
                                  detail="details here", method="POST", uri="/Messages.json")


@pytest.mark.parametrize(("exc", "kind", "code"), [
    (rest(429, 20429), RetryableError, "20429"),
    (rest(500, None), RetryableError, None),
    (rest(502, 502), RetryableError, "502"),
    (rest(408, None), RetryableError, None),
    (rest(400, 21211), PermanentError, "21211"),
    (rest(400, 21610), PermanentError, "21610"),
    (rest(400, 21614), PermanentError, "21614"),
    (rest(404, 20404), PermanentError, "20404"),
    (rest(401, 20003), PermanentError, "20003"),
    (rest(503, 21211), PermanentError, "21211"),
    (service(400, 21211), PermanentError, "21211"),
    (service(429, 20429), RetryableError, "20429"),
    (service(503, 20503), RetryableError, "20503"),
    (TwilioException("Unable to fetch page", Response(503, "", None)), RetryableError, None),
    (TwilioException("Unable to fetch page", Response(403, "", None)), PermanentError, None),
    (TwilioException("something odd"), RetryableError, None),
    (requests.ReadTimeout("read timed out"), RetryableError, None),
    (requests.ConnectTimeout("connect timed out"), RetryableError, None),
    (requests.ConnectionError("refused"), RetryableError, None),
    (requests.exceptions.ChunkedEncodingError("cut"), RetryableError, None),
    (requests.exceptions.MissingSchema("no scheme"), PermanentError, None),
    (TimeoutError("socket"), RetryableError, None),
    (ValueError("Expecting value: line 1 column 1"), RetryableError, None),
])
def test_classify(exc: BaseException, kind: type[GatewayError], code: str | None) -> None:
    result = classify(exc)
    assert type(result) is kind
    assert result.code == code
    assert str(result)


def test_classify_keeps_the_service_detail_and_passes_our_errors_through() -> None:
    assert str(classify(service(400, 21211))) == "Bad Request: details here"
    ours = PermanentError("already ours", code="1")
    assert classify(ours) is ours
