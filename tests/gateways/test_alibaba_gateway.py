"""The Alibaba Cloud adapter through the real SDKs against the local stub, which checks the ACS3 signature and the
parameters as the provider documents them and answers with its error codes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from cn_support import messaging, templates_of

from responder.domain.clock import FakeClock
from responder.domain.routes import GatewayConfig
from responder.gateways.alibaba.gateway import AlibabaGateway
from responder.gateways.base import Accepted, OutgoingCall, OutgoingSms, PermanentError, RetryableError
from responder.testing.alibaba_server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, AlibabaStubServer, Answer

FIELDS = {"drill": "", "area": "三建乡", "hazard": "洪涝", "colour": "橙色", "level": "2", "reason": "长河超警戒",
          "task": "巡堤查险", "report_to": "长河堤", "code": "E2"}
CONFIG = GatewayConfig.model_validate(messaging()["gateways"]["aliyun"])


@pytest.fixture
def stub(clock: FakeClock) -> Iterator[AlibabaStubServer]:
    aliyun = messaging()["gateways"]["aliyun"]
    with AlibabaStubServer(templates=templates_of(aliyun["templates"]), clock=clock.now,
                           voice_templates=templates_of(aliyun["voice_templates"]) | {"TTS_300000009": "好"}) as s:
        yield s


def gateway(stub: AlibabaStubServer, clock: FakeClock, secret: str = ACCESS_KEY_SECRET,
            endpoint: str | None = None) -> AlibabaGateway:
    return AlibabaGateway(CONFIG, ACCESS_KEY_ID, secret, sms_endpoint=endpoint or stub.endpoint,
                          vms_endpoint=stub.endpoint, protocol="http", timeout=2, clock=clock)


def sms(to: str = "+8617400007919", kind: str = "callout", **fields: str) -> OutgoingSms:
    return OutgoingSms(to, "ignored: the provider renders its template", reference="41", kind=kind,
                       fields={**FIELDS, **fields})


def test_send_sms_fills_the_approved_template(stub: AlibabaStubServer, clock: FakeClock) -> None:
    accepted = gateway(stub, clock).send_sms(sms(drill="演练："))
    [sent] = stub.messages
    assert accepted.sid == f"{sent.biz_id}:17400007919"
    assert (sent.number, sent.sign_name, sent.template_code, sent.out_id) == ("17400007919", "三建乡防汛办",
                                                                               "SMS_300000001", "41")
    assert sent.text == "演练：三建乡洪涝橙色预警2级：长河超警戒。您的任务：巡堤查险，到长河堤。编号E2"
    assert stub.requests == ["SendSms"]


def test_batches_take_one_template_code_and_100_numbers_each(stub: AlibabaStubServer, clock: FakeClock) -> None:
    batch = [sms(f"+861740000{i:04d}") for i in range(120)] + [sms("+8617400009999", kind="standdown")]
    outcomes = gateway(stub, clock).send_batch(batch)
    assert all(isinstance(o, Accepted) for o in outcomes)
    assert stub.requests == ["SendBatchSms"] * 3
    assert len({o.sid for o in outcomes if isinstance(o, Accepted)}) == 121
    assert [m.template_code for m in stub.messages].count("SMS_300000006") == 1
    assert outcomes[-1].sid.endswith(":17400009999")  # type: ignore[union-attr]


def test_one_bad_number_fails_alone(stub: AlibabaStubServer, clock: FakeClock) -> None:
    stub.fail_number("17400000003")
    outcomes = gateway(stub, clock).send_batch([sms(f"+861740000000{i}") for i in range(5)])
    assert [type(o).__name__ for o in outcomes] == ["Accepted"] * 3 + ["PermanentError"] + ["Accepted"]
    assert outcomes[3].code == "MOBILE_NUMBER_ILLEGA"  # type: ignore[union-attr]
    assert len(stub.messages) == 4


@pytest.mark.parametrize(("answer", "kind"), [
    (Answer("Throttling.User", "Request was denied due to user flow control.", 400), RetryableError),
    (Answer("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"), RetryableError),
    (Answer("isp.SYSTEM_ERROR", "系统错误"), RetryableError),
    (Answer("ServiceUnavailable", "busy", 503), RetryableError),
    (Answer("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"), PermanentError),
    (Answer("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法"), PermanentError),
    (Answer("isv.AMOUNT_NOT_ENOUGH", "账户余额不足"), PermanentError),
])
def test_provider_errors_are_ours(stub: AlibabaStubServer, clock: FakeClock, answer: Answer,
                                  kind: type[Exception]) -> None:
    stub.script(answer)
    with pytest.raises(kind) as raised:
        gateway(stub, clock).send_sms(sms())
    assert answer.code in str(raised.value)


def test_per_number_day_limit_is_the_providers_business_limit(stub: AlibabaStubServer, clock: FakeClock) -> None:
    stub.per_number_per_day = 2
    g = gateway(stub, clock)
    g.send_sms(sms())
    g.send_sms(sms())
    with pytest.raises(RetryableError, match="BUSINESS_LIMIT_CONTROL"):
        g.send_sms(sms())
    clock.advance(timedelta(days=1))
    assert isinstance(g.send_sms(sms()), Accepted)


def test_a_wrong_secret_or_no_server(stub: AlibabaStubServer, clock: FakeClock) -> None:
    with pytest.raises(PermanentError, match="SignatureDoesNotMatch"):
        gateway(stub, clock, secret="not-the-secret").send_sms(sms())
    with pytest.raises(RetryableError, match="connection failed"):
        gateway(stub, clock, endpoint="127.0.0.1:9").send_sms(sms())
    assert stub.messages == []


def test_refused_here_before_the_provider(stub: AlibabaStubServer, clock: FakeClock) -> None:
    g = gateway(stub, clock)
    with pytest.raises(PermanentError, match="link"):
        g.send_sms(sms(reason="详见 https://example.org/a"))
    with pytest.raises(PermanentError, match="no approved alibaba template for 'nonsense'"):
        g.send_sms(sms(kind="nonsense"))
    long = g.send_sms(sms(task="巡" * 50))  # a person in several groups: the task is cut, not refused
    assert isinstance(long, Accepted) and stub.messages[-1].params["task"] == "巡" * 34 + "…"
    assert stub.requests == ["SendSms"]


def test_sent_since_finds_what_went_out_without_the_signature(stub: AlibabaStubServer, clock: FakeClock) -> None:
    g = gateway(stub, clock)
    before = clock.now() - timedelta(seconds=5)
    g.send_sms(sms())
    [record] = g.sent_since("+8617400007919", before) or []
    assert record.body == stub.messages[0].text and record.to == "+8617400007919"
    assert g.sent_since("+8617400007919", clock.now() + timedelta(seconds=1)) == []
    assert g.sent_since("+8617400000000", before) == []
    assert gateway(stub, clock, endpoint="127.0.0.1:9").sent_since("+8617400007919", before) is None


def test_ivr_call_with_the_keypress(stub: AlibabaStubServer, clock: FakeClock) -> None:
    call = OutgoingCall("+8617400007919", "ignored", "zh", reference="77", kind="voice", fields=FIELDS)
    accepted = gateway(stub, clock).place_call(call)
    [placed] = stub.calls
    assert accepted.sid == placed.call_id and placed.out_id == "77" and placed.keys == {"1": "TTS_300000009"}
    assert placed.params["task"] == "巡堤查险" and placed.caller == "057112345678"
    stub.voice_templates.clear()
    with pytest.raises(PermanentError, match="TTS_TEMPLATE_ILLEGAL"):
        gateway(stub, clock).place_call(call)
