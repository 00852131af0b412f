"""The fake gateway is what most tests and drills send through: it must record faithfully and fail on cue."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from responder.domain.clock import FakeClock
from responder.gateways.base import GatewayError, OutgoingCall, OutgoingSms, PermanentError, RetryableError
from responder.gateways.fake import FakeGateway

TO = "+8613800138000"
OTHER = "+8613900139000"
KEYPRESS = "https://responder.example/twilio/voice/7/gather"


@pytest.fixture
def fake(clock: FakeClock) -> FakeGateway:
    return FakeGateway(clock=clock, run="")


def test_records_sms_and_calls_with_sequential_sids(fake: FakeGateway, clock: FakeClock) -> None:
    first = fake.send_sms(OutgoingSms(to=TO, body="水位警报", sender="+15005550006", reference="7"))
    call = fake.place_call(OutgoingCall(to=TO, text="请按1确认", language="zh", keypress_url=KEYPRESS))
    second = fake.send_sms(OutgoingSms(to=OTHER, body="b"))
    assert (first.sid, second.sid, call.sid) == ("SMfake000001", "SMfake000002", "CAfake000001")
    [sms1, sms2] = fake.sms
    assert (sms1.to, sms1.body, sms1.sender, sms1.reference, sms1.time) == (TO, "水位警报", "+15005550006", "7",
                                                                           clock.now())
    assert sms2.to == OTHER
    assert [(c.sid, c.body, c.language, c.keypress_url) for c in fake.calls] == [
        ("CAfake000001", "请按1确认", "zh", KEYPRESS)]
    assert [r.sid for r in fake.records] == ["SMfake000001", "CAfake000001", "SMfake000002"]


def test_fail_next_defaults_to_retryable_then_recovers(fake: FakeGateway) -> None:
    fake.fail_next(2)
    for _ in range(2):
        with pytest.raises(RetryableError):
            fake.send_sms(OutgoingSms(to=TO, body="x"))
    assert fake.send_sms(OutgoingSms(to=TO, body="x")).sid == "SMfake000001"
    assert [a.error is not None for a in fake.attempts] == [True, True, False]
    assert len(fake.sms) == 1


def test_fail_next_raises_a_fresh_copy_of_a_given_error(fake: FakeGateway) -> None:
    template = PermanentError("invalid", code="21211")
    fake.fail_next(2, template)
    raised: list[GatewayError] = []
    for _ in range(2):
        with pytest.raises(PermanentError) as caught:
            fake.place_call(OutgoingCall(to=TO, text="请按1确认", language="zh", keypress_url=KEYPRESS))
        raised.append(caught.value)
    assert raised[0] is not raised[1] and raised[0] is not template
    assert [e.code for e in raised] == ["21211", "21211"]


def test_fail_numbers_always_fail_those_numbers_only(fake: FakeGateway) -> None:
    fake.fail_numbers({OTHER: lambda: PermanentError("invalid", code="21211")})
    for _ in range(3):
        with pytest.raises(PermanentError, match="invalid"):
            fake.send_sms(OutgoingSms(to=OTHER, body="x"))
    fake.send_sms(OutgoingSms(to=TO, body="x"))
    fake.clear_failures()
    fake.send_sms(OutgoingSms(to=OTHER, body="x"))
    assert [r.to for r in fake.sms] == [TO, OTHER]


def test_hook_sees_every_send_and_may_fail_it(fake: FakeGateway) -> None:
    seen: list[str] = []

    def hook(item: OutgoingSms | OutgoingCall) -> None:
        seen.append(item.to)
        if item.to == OTHER:
            raise RetryableError("network down")

    fake.hook = hook
    fake.send_sms(OutgoingSms(to=TO, body="x"))
    with pytest.raises(RetryableError):
        fake.place_call(OutgoingCall(to=OTHER, text="请按1确认", language="zh"))
    assert seen == [TO, OTHER]
    assert fake.calls == []


def test_sent_since_uses_the_injected_clock(fake: FakeGateway, clock: FakeClock) -> None:
    fake.send_sms(OutgoingSms(to=TO, body="old"))
    since = clock.advance(timedelta(minutes=1))
    new = fake.send_sms(OutgoingSms(to=TO, body="new"))
    fake.send_sms(OutgoingSms(to=OTHER, body="other"))
    fake.place_call(OutgoingCall(to=TO, text="请按1确认", language="zh", keypress_url=KEYPRESS))
    records = fake.sent_since(TO, since)
    assert records is not None
    assert [(r.sid, r.body, r.created_at) for r in records] == [(new.sid, "new", since)]
    fake.reports_sent = False
    assert fake.sent_since(TO, since) is None


def test_reset_forgets_records_and_failures(fake: FakeGateway) -> None:
    fake.send_sms(OutgoingSms(to=TO, body="x"))
    fake.fail_next(1)
    fake.reset()
    assert fake.records == [] and fake.attempts == []
    assert fake.send_sms(OutgoingSms(to=TO, body="x")).sid == "SMfake000002"


def test_default_clock_is_aware_utc() -> None:
    gateway = FakeGateway()
    gateway.send_sms(OutgoingSms(to=TO, body="x"))
    assert gateway.sms[0].time.utcoffset() == timedelta(0)


def test_concurrent_sends_get_unique_sids_and_all_are_recorded(fake: FakeGateway) -> None:
    fake.fail_next(50)
    failures: list[int] = []

    def send(worker: int) -> None:
        for i in range(200):
            try:
                fake.send_sms(OutgoingSms(to=f"+86138{worker:04d}{i:04d}", body="x"))
            except RetryableError:
                failures.append(1)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(failures) == 50
    sids = [r.sid for r in fake.sms]
    assert len(sids) == len(set(sids)) == 8 * 200 - 50
    assert len(fake.attempts) == 8 * 200


def test_a_batch_request_answers_for_each_message_in_order(clock: FakeClock) -> None:
    fake = FakeGateway(clock=clock, batch_limit=3)
    fake.fail_numbers({OTHER: PermanentError("invalid number", code="21211")})
    outcomes = fake.send_batch([OutgoingSms(to=TO, body="a"), OutgoingSms(to=OTHER, body="b"),
                                OutgoingSms(to=TO, body="c")])
    assert [type(o).__name__ for o in outcomes] == ["Accepted", "PermanentError", "Accepted"]
    assert [s.body for s in fake.sms] == ["a", "c"] and fake.batches == [3]
    with pytest.raises(ValueError, match="1 to 3"):
        fake.send_batch([OutgoingSms(to=TO, body="x")] * 4)
    assert FakeGateway(clock=clock).batch_limit == 0, "by default one SMS per request, as Twilio takes them"


def test_an_error_kept_as_an_outcome_holds_no_frames(clock: FakeClock) -> None:
    """A traceback would keep every frame of the send alive, with the batch in its locals, as long as the fake
    gateway keeps the attempt: the whole drill."""
    fake = FakeGateway(clock=clock, batch_limit=2)
    fake.fail_numbers({OTHER: lambda: PermanentError("invalid number", code="21211")})
    _, refused = fake.send_batch([OutgoingSms(to=TO, body="a"), OutgoingSms(to=OTHER, body="b")])
    assert isinstance(refused, PermanentError) and refused.__traceback__ is None
    [error] = [a.error for a in fake.attempts if a.error is not None]
    assert error is refused
