"""The local Twilio stub: Twilio's wire format where the SDK looks, scripting that is exact, and speed and
clean shutdown enough for benchmarks and many-threaded tests."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from process_support import FROM

from responder.domain.clock import FakeClock
from responder.testing import Respond, TwilioStubServer
from responder.testing.twilio_server import segments

TO = "+8613800138000"


@pytest.fixture
def stub(clock: FakeClock) -> Iterator[TwilioStubServer]:
    with TwilioStubServer(clock=clock) as server:
        yield server
    assert server.internal_errors == []


class Raw:
    """A bare keep-alive HTTP client, to see exactly what the stub answers."""

    def __init__(self, stub: TwilioStubServer, token: str | None = None) -> None:
        self.stub = stub
        self.conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=5)
        secret = f"{stub.account_sid}:{token or stub.auth_token}".encode()
        self.headers = {"Authorization": "Basic " + base64.b64encode(secret).decode(),
                        "Content-Type": "application/x-www-form-urlencoded"}
        self.base = f"/2010-04-01/Accounts/{stub.account_sid}"

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
        body = urlencode(form) if form is not None else None
        self.conn.request(method, self.base + path, body=body, headers=self.headers)
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())

    def send(self, to: str = TO, body: str = "hi", sender: str = FROM) -> tuple[int, dict[str, object]]:
        return self.request("POST", "/Messages.json", {"To": to, "From": sender, "Body": body})

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def raw(stub: TwilioStubServer) -> Iterator[Raw]:
    client = Raw(stub)
    yield client
    client.close()


def test_created_message_looks_like_twilio(raw: Raw, clock: FakeClock) -> None:
    status, message = raw.send(body="水位警报")
    assert status == 201
    assert message["status"] == "queued" and message["direction"] == "outbound-api"
    assert str(message["sid"]).startswith("SM") and len(str(message["sid"])) == 34
    assert message["date_created"] == "Thu, 01 Jul 2027 01:00:00 +0000"
    assert (message["to"], message["from"], message["body"], message["num_segments"]) == (TO, FROM, "水位警报", "1")
    status, fetched = raw.request("GET", f"/Messages/{message['sid']}.json")
    assert status == 200 and fetched["status"] == "sent" and fetched["date_sent"] == message["date_created"]


def test_wrong_credentials_get_twilios_401(stub: TwilioStubServer) -> None:
    client = Raw(stub, token="wrong")
    try:
        status, error = client.send()
    finally:
        client.close()
    assert status == 401
    assert error == {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003",
                     "status": 401}
    assert stub.messages == []


def test_unknown_paths_and_resources_are_404(raw: Raw) -> None:
    assert raw.request("GET", "/Messages/SMnope.json")[0] == 404
    assert raw.request("GET", "/Queues.json")[1]["code"] == 20404


def test_missing_fields_are_refused_with_twilio_codes(raw: Raw) -> None:
    assert raw.request("POST", "/Messages.json", {"To": TO, "From": FROM})[1]["code"] == 21602
    assert raw.request("POST", "/Messages.json", {"To": TO, "Body": "x"})[1]["code"] == 21603
    assert raw.request("POST", "/Calls.json", {"To": TO, "From": FROM})[1]["code"] == 21205


def test_script_answers_the_next_requests_in_order(raw: Raw, stub: TwilioStubServer) -> None:
    stub.script(Respond(status=429), Respond(status=400, code=21211, message="The 'To' number is not valid."),
                Respond(status=400, code=21610, rfc9457=True))
    assert raw.send() == (429, {"code": 20429, "message": "Too Many Requests",
                                "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429})
    assert raw.send()[1]["message"] == "The 'To' number is not valid."
    status, problem = raw.send()
    assert (status, problem["type"], problem["title"], problem["code"]) == (
        400, "https://www.twilio.com/docs/errors/21610", "Bad Request", 21610)
    assert raw.send()[0] == 201
    assert len(stub.messages) == 1 and stub.request_count == 4


def test_list_filters_by_number_and_date_and_pages(raw: Raw, stub: TwilioStubServer, clock: FakeClock) -> None:
    raw.send(body="old")
    since = clock.advance(timedelta(days=1))
    for i in range(5):
        raw.send(body=f"new {i}")
        clock.advance(timedelta(seconds=1))
    raw.send(to="+8613900139000")
    query = urlencode({"To": TO, "DateSent>": since.strftime("%Y-%m-%dT%H:%M:%SZ"), "PageSize": 2})
    bodies: list[str] = []
    path: str | None = f"/Messages.json?{query}"
    while path:
        status, page = raw.request("GET", path)
        assert status == 200 and page["page_size"] == 2
        bodies += [str(m["body"]) for m in page["messages"]]  # type: ignore[attr-defined]
        path = str(page["next_page_uri"]).removeprefix(raw.base) if page["next_page_uri"] else None
    assert bodies == [f"new {i}" for i in reversed(range(5))]
    whole_day = urlencode({"To": TO, "DateSent": since.date().isoformat()})
    assert len(raw.request("GET", f"/Messages.json?{whole_day}")[1]["messages"]) == 5  # type: ignore[arg-type]


def test_fail_number_applies_to_messages_and_calls_until_cleared(raw: Raw, stub: TwilioStubServer) -> None:
    stub.fail_number(TO, status=400, code=21610)
    assert raw.send()[1]["code"] == 21610
    assert raw.request("POST", "/Calls.json", {"To": TO, "From": FROM, "Twiml": "<Response/>"})[1]["code"] == 21610
    assert raw.send(to="+8613900139000")[0] == 201
    stub.clear_rules()
    assert raw.send()[0] == 201


def test_rate_limit_is_per_sender(stub: TwilioStubServer) -> None:
    stub.rate_limit_per_second = 2
    client = Raw(stub)
    try:
        statuses = [client.send()[0] for _ in range(4)]
        other = client.send(sender="+15005550001")[0]
    finally:
        client.close()
    assert statuses.count(201) == 2 and statuses.count(429) == 2
    assert other == 201


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


def test_delay_is_cut_short_by_stop(clock: FakeClock) -> None:
    server = TwilioStubServer(clock=clock).start()
    server.script(Respond(delay=30))
    client = Raw(server)
    outcome: list[BaseException] = []

    def send() -> None:
        try:
            client.send()
        except (http.client.HTTPException, OSError) as exc:
            outcome.append(exc)

    worker = threading.Thread(target=send)
    worker.start()
    wait_for(lambda: server.in_flight == 1)
    started = time.monotonic()
    server.stop()
    worker.join(5)
    client.close()
    assert time.monotonic() - started < 2 and not worker.is_alive()
    assert len(outcome) == 1 and server.messages == []


def test_stop_closes_idle_keep_alive_connections(clock: FakeClock) -> None:
    server = TwilioStubServer(clock=clock).start()
    client = Raw(server)
    assert client.send()[0] == 201  # the connection stays open, its handler thread waiting for more
    started = time.monotonic()
    server.stop()
    client.close()
    assert time.monotonic() - started < 2


def test_many_threads_keep_alive(stub: TwilioStubServer) -> None:
    threads, each = 8, 150
    errors: list[BaseException] = []

    def work() -> None:
        client = Raw(stub)
        try:
            for _ in range(each):
                assert client.send(body="并发")[0] == 201
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            client.close()

    started = time.monotonic()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    assert errors == []
    sids = {m.sid for m in stub.messages}
    assert len(sids) == threads * each == stub.request_count
    times = stub.request_times
    assert len(times) == threads * each and max(times) - min(times) <= elapsed


def test_keep_alive_requests_do_not_stall(raw: Raw) -> None:
    """Nagle's algorithm with delayed ACKs would hold each answer ~40 ms: 25 requests a second at best."""
    count = 200
    started = time.monotonic()
    for _ in range(count):
        raw.send()
    assert count / (time.monotonic() - started) > 100  # typically thousands


def test_reset_forgets_everything(raw: Raw, stub: TwilioStubServer) -> None:
    raw.send()
    stub.script(Respond(status=500))
    stub.reset()
    assert (stub.messages, stub.requests) == ([], [])
    assert raw.send()[0] == 201


@pytest.mark.parametrize(("body", "parts"), [("a" * 160, 1), ("a" * 161, 2), ("洪" * 70, 1), ("洪" * 71, 2),
                                             ("{" * 80, 1), ("{" * 81, 2)])
def test_segments_follow_gsm7_and_ucs2(body: str, parts: int) -> None:
    assert segments(body) == parts
