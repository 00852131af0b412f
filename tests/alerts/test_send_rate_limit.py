"""The per-sender send rate: exact spacing on a fake timer, and the achieved rate through the real twilio SDK to the
local Twilio server measured where the messages arrive."""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from alerts_support import REASON, same_engine
from process_support import FROM

from responder.app.alerts import raise_alert
from responder.gateways.base import Accepted, OneAtATime, OutgoingCall, OutgoingSms, SentRecord
from responder.gateways.twilio.gateway import TwilioGateway
from responder.testing import TwilioStubServer
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher, limiter_for
from responder.worker.rate_limit import IntervalLimiter, Unlimited

RATE = 20.0


def test_slots_are_spaced_per_sender_across_threads() -> None:
    """A fake timer that moves only when a sender waits: 30 sends by three threads take 29 intervals."""
    now = [100.0]
    clock_lock = threading.Lock()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        with clock_lock:
            waits.append(seconds)
            now[0] += seconds

    def monotonic() -> float:
        with clock_lock:
            return now[0]

    limiter = IntervalLimiter(RATE, monotonic=monotonic, sleep=sleep)
    start = threading.Barrier(3)

    def send(n: int) -> None:
        start.wait()
        for _ in range(n):
            limiter.acquire("A")

    threads = [threading.Thread(target=send, args=(10,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(waits) == 29 and now[0] - 100.0 == pytest.approx(29 / RATE)
    assert waits == pytest.approx([1 / RATE] * 29)
    limiter.acquire("B")  # another sender has its own slots: no wait behind A
    assert len(waits) == 29


def test_limits_come_from_the_settings(sqlite_ctx: AppContext) -> None:
    assert isinstance(limiter_for(sqlite_ctx), Unlimited), "fake gateway, nothing set: no limit"
    assert isinstance(limiter_for(same_engine(sqlite_ctx, send_rate_per_second=0)), Unlimited)
    limited = limiter_for(same_engine(sqlite_ctx, send_rate_per_second=RATE))
    assert isinstance(limited, IntervalLimiter) and limited.interval == pytest.approx(1 / RATE)
    twilio = limiter_for(same_engine(sqlite_ctx, gateway="twilio"))
    assert isinstance(twilio, IntervalLimiter) and twilio.interval == 1.0, "a long code's 1/s unless told"


@pytest.fixture
def stub() -> Iterator[TwilioStubServer]:
    # Twilio's own enforcement, a little looser than ours: any burst over it would come back as 429.
    with TwilioStubServer(rate_limit_per_second=RATE, rate_limit_burst=5) as server:
        yield server
    assert server.internal_errors == []


class Handoffs(OneAtATime):
    """Wraps the real TwilioGateway to note when each message is handed to it (after the limiter let it go)."""

    def __init__(self, gateway: TwilioGateway) -> None:
        self.gateway = gateway
        self.name = gateway.name
        self.times: list[float] = []
        self._lock = threading.Lock()

    def send_sms(self, message: OutgoingSms) -> Accepted:
        with self._lock:
            self.times.append(time.monotonic())
        return self.gateway.send_sms(message)

    def place_call(self, call: OutgoingCall) -> Accepted:
        return self.gateway.place_call(call)

    def sent_since(self, to: str, since: datetime) -> list[SentRecord] | None:
        return self.gateway.sent_since(to, since)


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    return max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))


def test_the_achieved_rate_through_twilio_stays_within_the_limit(sqlite_ctx: AppContext,
                                                                 stub: TwilioStubServer) -> None:
    ctx = same_engine(sqlite_ctx, send_rate_per_second=RATE, twilio_from_number=FROM)
    raise_alert(ctx, "flood", 2, REASON, "tester")
    with TwilioGateway(stub.account_sid, stub.auth_token, from_number=FROM, api_base_url=stub.url,
                       timeout=5) as twilio:
        gateway = Handoffs(twilio)
        stats = Dispatcher(ctx, gateway, concurrency=4).drain()
    assert (stats.sent, stats.retried, stats.failed) == (63, 0, 0)
    assert {r.status for r in stub.requests} == {201}, "the provider (20/s, burst 5) never had to refuse one"

    arrivals = sorted(m.received_at for m in stub.messages)
    assert len(arrivals) == len(gateway.times) == 63
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    assert 0.8 * RATE <= achieved <= 1.05 * RATE, f"achieved {achieved:.2f}/s for a limit of {RATE}/s"
    # What the limiter controls: when messages are handed to the gateway. Arrivals at the server add the
    # network's and the scheduler's jitter on top (a loaded machine bunches them; the burst above absorbs it).
    busiest = busiest_second(gateway.times)
    assert busiest <= RATE + 1, f"{busiest} messages handed to the gateway within one second"
