"""HTTP feeds: timeouts and bounded retries with backoff; 500s, timeouts and dead hosts end as feed errors."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from feeds_support import DATA, NOW, SHANGHAI, feed, station

from responder.feeds import FeedError, read_feed
from responder.feeds.http import fetch

RAIN = [station("rain-yuquanzi", "rain", "county", "60812400")]


def client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_a_passing_failure_is_retried_with_growing_backoff() -> None:
    answers = iter([httpx.Response(503), httpx.Response(500), httpx.Response(200, content=b"ok")])
    sleeps: list[float] = []
    with client(lambda request: next(answers)) as http:
        assert fetch("https://x.example/a", timeout=5, retries=2, client=http, sleep=sleeps.append) == b"ok"
    assert sleeps == [0.5, 1.0]


def test_retries_are_bounded_and_the_error_says_what_happened() -> None:
    calls: list[httpx.Request] = []

    def always_500(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    sleeps: list[float] = []
    with client(always_500) as http, pytest.raises(FeedError) as caught:
        fetch("https://x.example/a", timeout=60, retries=3, client=http, sleep=sleeps.append, backoff=4, max_backoff=10)
    assert len(calls) == 4 and sleeps == [4, 8, 10]
    assert str(caught.value) == "https://x.example/a: HTTP 500 Internal Server Error (after 4 attempts)"


def test_a_client_error_is_not_retried() -> None:
    calls: list[httpx.Request] = []

    def not_found(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(404)

    with client(not_found) as http, pytest.raises(FeedError, match="HTTP 404 Not Found"):
        fetch("https://x.example/a", timeout=5, retries=3, client=http, sleep=lambda s: None)
    assert len(calls) == 1


@pytest.mark.parametrize(("exception", "message"), [
    (httpx.ReadTimeout("read timed out"), "timed out after 2 s"),
    (httpx.ConnectError("name or service not known"), "unreachable (ConnectError: name or service not known)"),
])
def test_timeouts_and_unreachable_hosts(exception: Exception, message: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exception

    with client(fail) as http:
        result = read_feed(feed("county", "csv", url="https://x.example/rain.csv", timeout="2s", retries=1), RAIN,
                           NOW, client=http, sleep=lambda s: None)
    assert result.error == f"https://x.example/rain.csv: {message} (after 2 attempts)"
    assert result.readings == [] and result.rejected == []


def test_a_response_too_large_is_refused() -> None:
    with client(lambda r: httpx.Response(200, content=b"x" * 2000)) as http, pytest.raises(FeedError, match="larger"):
        fetch("https://x.example/a", timeout=5, retries=0, client=http, max_bytes=1000)


def test_truncated_json_over_http_is_a_feed_error_not_an_exception() -> None:
    body = (DATA / "usgs_iv_sanjian.json").read_bytes()[:700]
    with client(lambda r: httpx.Response(200, content=body)) as http:
        result = read_feed(feed("usgs", "usgs", url="https://waterservices.example/nwis/iv/?format=json"),
                           RAIN, NOW, client=http)
    assert result.error is not None and result.error.startswith("invalid JSON (truncated?)")


class _Server(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        if self.path == "/flaky.csv" and type(self).hits == 1:
            self.send_response(500)
            self.end_headers()
            return
        body = (DATA / "county-rain.csv").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_real_local_server_with_one_failure_then_data(server: str) -> None:
    result = read_feed(feed("county", "csv", url=f"{server}/flaky.csv", retries=2), RAIN, NOW, zone=SHANGHAI,
                       sleep=lambda s: None)
    assert result.ok and len(result.readings) == 3


def test_a_closed_port_is_unreachable() -> None:
    result = read_feed(feed("county", "csv", url="http://127.0.0.1:9/rain.csv", retries=0, timeout="2s"), RAIN, NOW)
    assert result.error is not None and "unreachable" in result.error
