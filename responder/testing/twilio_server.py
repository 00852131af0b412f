"""A local server speaking the part of Twilio's REST API that the responder uses, so that the real SDK can be
exercised end to end (errors, timeouts, rate limits, Chinese text) without an account or a network.

Point the SDK at it with ``TwilioGateway(..., api_base_url=server.url)`` (which sets ``client.api.base_url``).
Standard library only: a threading HTTP/1.1 server with keep-alive, quiet, safe to use from many threads.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import re
import secrets
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "stub-auth-token"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ROUTE = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/(?P<kind>Messages|Calls)(?:/(?P<sid>[^/]+))?\.json$")
MAX_PAGE_SIZE = 1000

DEFAULT_CODES = {401: 20003, 404: 20404, 405: 20004, 429: 20429, 500: 20500, 503: 20503}
DEFAULT_MESSAGES = {
    20003: "Authenticate",
    20004: "Method not allowed",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service is unavailable. Please try again",
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Respond:
    """One scripted answer. ``status`` >= 400 answers with Twilio's error JSON (``code``/``message``) instead of
    doing the request; ``delay`` waits first (to outlast a client timeout); ``rfc9457`` uses the newer error
    shape, for which twilio >= 9.10 raises TwilioServiceException instead of TwilioRestException."""

    status: int | None = None
    code: int | None = None
    message: str | None = None
    delay: float = 0.0
    rfc9457: bool = False

    @property
    def is_error(self) -> bool:
        return self.status is not None and self.status >= 400


@dataclass(frozen=True, slots=True)
class StubMessage:
    sid: str
    to: str
    from_: str | None
    body: str
    messaging_service_sid: str | None
    status_callback: str | None
    date_created: datetime
    received_at: float
    """``time.monotonic()`` when it arrived, for measuring rates."""


@dataclass(frozen=True, slots=True)
class StubCall:
    sid: str
    to: str
    from_: str
    twiml: str | None
    url: str | None
    status_callback: str | None
    date_created: datetime
    received_at: float


@dataclass(frozen=True, slots=True)
class StubRequest:
    at: float
    """``time.monotonic()`` on arrival."""
    method: str
    path: str
    status: int


@dataclass(slots=True)
class _Reply:
    status: int
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class TwilioStubServer:
    """Fake Twilio on 127.0.0.1 and a random free port: Messages (create, list, fetch) and Calls (create, fetch).

    Scriptable and thread-safe: ``script`` queues answers for the next requests, ``fail_number`` makes every
    send to a number fail, ``rate_limit_per_second`` answers 429 when one sender goes faster than that.
    """

    def __init__(self, account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = DEFAULT_AUTH_TOKEN, *,
                 clock: Clock | None = None, rate_limit_per_second: float | None = None,
                 rate_limit_burst: float | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.clock: Clock = clock or _SystemClock()
        self.rate_limit_per_second = rate_limit_per_second
        self.rate_limit_burst = rate_limit_burst
        self._address = (host, port)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._expected_auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._script: list[Respond] = []
        self._number_rules: dict[str, Respond] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._messages: dict[str, StubMessage] = {}
        self._calls: dict[str, StubCall] = {}
        self._requests: list[StubRequest] = []
        self._in_flight = 0
        self.internal_errors: list[BaseException] = []
        """Bugs in the stub itself (answered with 500); tests may assert this stays empty."""

    # lifecycle
    def start(self) -> TwilioStubServer:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _HttpServer(self._address, _Handler)
        server.stub = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="twilio-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut open keep-alive connections, so no thread or socket outlives the server."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        with self._lock:
            self._stopping.set()
            open_connections = list(self._connections)
        for conn in open_connections:
            _shutdown(conn)
        server.server_close()
        if thread is not None:
            thread.join()
        self._server = self._thread = None

    def __enter__(self) -> TwilioStubServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the stub server is not running: call start()")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL to give the SDK (``client.api.base_url``), e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self._address[0]}:{self.port}"

    # scripting
    def script(self, *responses: Respond) -> None:
        """Queue answers for the next requests, one each, whatever they are; then back to normal."""
        with self._lock:
            self._script.extend(responses)

    def fail_number(self, to: str, status: int = 400, code: int | None = 21211, message: str | None = None,
                    rfc9457: bool = False) -> None:
        """Every message or call to ``to`` fails like this until ``clear_rules``."""
        with self._lock:
            self._number_rules[to] = Respond(status=status, code=code, message=message, rfc9457=rfc9457)

    def clear_rules(self) -> None:
        with self._lock:
            self._script.clear()
            self._number_rules.clear()
            self._buckets.clear()

    def reset(self) -> None:
        """Forget scripts, rules, records and the request log."""
        self.clear_rules()
        with self._lock:
            self._messages.clear()
            self._calls.clear()
            self._requests.clear()
            self.internal_errors.clear()

    # what happened
    @property
    def messages(self) -> list[StubMessage]:
        with self._lock:
            return list(self._messages.values())

    @property
    def calls(self) -> list[StubCall]:
        with self._lock:
            return list(self._calls.values())

    @property
    def requests(self) -> list[StubRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def in_flight(self) -> int:
        """Requests being answered right now (e.g. held by a ``Respond(delay=...)``)."""
        with self._lock:
            return self._in_flight

    @property
    def request_times(self) -> list[float]:
        """Arrival times (``time.monotonic()``) of every request, for measuring achieved rates."""
        with self._lock:
            return [r.at for r in self._requests]

    # serving (called from handler threads)
    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if not add:
                self._connections.discard(conn)
                return
            self._connections.add(conn)
            stopping = self._stopping.is_set()
        if stopping:
            _shutdown(conn)

    def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> _Reply | None:
        """The reply to one request, or None if the server stopped while it was delayed."""
        arrived = time.monotonic()
        with self._lock:
            self._in_flight += 1
        try:
            reply = self._dispatch(method, target, headers, body, arrived)
        except Exception as exc:  # a stub bug must not kill the connection thread
            with self._lock:
                self.internal_errors.append(exc)
            reply = _error(500, 20500, f"stub error: {exc!r}")
        with self._lock:
            self._in_flight -= 1
            self._requests.append(StubRequest(arrived, method, target, reply.status if reply else 0))
        return reply

    def _dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes,
                  arrived: float) -> _Reply | None:
        parts = urlsplit(target)
        route = ROUTE.match(parts.path)
        if route is None:
            return _error(404, 20404, f"The requested resource {parts.path} was not found")
        if headers.get("authorization") != self._expected_auth:
            reply = _error(401, 20003, DEFAULT_MESSAGES[20003])
            reply.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return reply
        if route["account"] != self.account_sid:
            return _error(404, 20404, f"The requested resource {parts.path} was not found")
        with self._lock:
            scripted = self._script.pop(0) if self._script else None
        if scripted is not None:
            if scripted.delay > 0 and self._stopping.wait(scripted.delay):
                return None
            if scripted.is_error:
                return _error_from(scripted, parts.path)
        kind, sid = route["kind"], route["sid"]
        if method == "GET" and sid is not None:
            return self._fetch(kind, sid, parts.path)
        if method == "GET" and kind == "Messages":
            return self._list_messages(parts.path, _single(parse_qs(parts.query, keep_blank_values=True)))
        if method == "POST" and sid is None:
            form = _single(parse_qs(body.decode("utf-8"), keep_blank_values=True))
            refused = self._refuse_send(form, arrived, parts.path)
            if refused is not None:
                return refused
            return self._create_message(form, arrived) if kind == "Messages" else self._create_call(form, arrived)
        return _error(405, 20004, DEFAULT_MESSAGES[20004])

    def _refuse_send(self, form: dict[str, str], arrived: float, path: str) -> _Reply | None:
        with self._lock:
            rule = self._number_rules.get(form.get("To", ""))
            limited = not self._take_token(form.get("From") or form.get("MessagingServiceSid") or "", arrived)
        if rule is not None:
            return _error_from(rule, path)
        if limited:
            return _error(429, 20429, DEFAULT_MESSAGES[20429])
        return None

    def _take_token(self, sender: str, now: float) -> bool:
        """Token bucket per sender, as Twilio limits each sender number. Caller holds the lock."""
        rate = self.rate_limit_per_second
        if rate is None:
            return True
        burst = self.rate_limit_burst or max(1.0, rate)
        tokens, last = self._buckets.get(sender, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        allowed = tokens >= 1
        self._buckets[sender] = (tokens - 1 if allowed else tokens, now)
        return allowed

    def _create_message(self, form: dict[str, str], arrived: float) -> _Reply:
        to, body = form.get("To", ""), form.get("Body", "")
        sender, service = form.get("From") or None, form.get("MessagingServiceSid") or None
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if sender is None and service is None:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not E164.match(to):
            return _error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if len(body) > 1600:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        message = StubMessage(sid=_sid("SM"), to=to, from_=sender, body=body, messaging_service_sid=service,
                              status_callback=form.get("StatusCallback") or None,
                              date_created=self.clock.now().astimezone(UTC), received_at=arrived)
        with self._lock:
            self._messages[message.sid] = message
        return _Reply(201, self._message_json(message, fresh=True))

    def _create_call(self, form: dict[str, str], arrived: float) -> _Reply:
        to, sender = form.get("To", ""), form.get("From", "")
        twiml, url = form.get("Twiml") or None, form.get("Url") or None
        if not to:
            return _error(400, 21201, "No 'To' number is specified")
        if not sender:
            return _error(400, 21213, "No 'From' number is specified")
        if twiml is None and url is None and not form.get("ApplicationSid"):
            return _error(400, 21205, "Url parameter is required.")
        if not E164.match(to):
            return _error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        call = StubCall(sid=_sid("CA"), to=to, from_=sender, twiml=twiml, url=url,
                        status_callback=form.get("StatusCallback") or None,
                        date_created=self.clock.now().astimezone(UTC), received_at=arrived)
        with self._lock:
            self._calls[call.sid] = call
        return _Reply(201, self._call_json(call))

    def _fetch(self, kind: str, sid: str, path: str) -> _Reply:
        with self._lock:
            message = self._messages.get(sid) if kind == "Messages" else None
            call = self._calls.get(sid) if kind == "Calls" else None
        if message is not None:
            return _Reply(200, self._message_json(message, fresh=False))
        if call is not None:
            return _Reply(200, self._call_json(call))
        return _error(404, 20404, f"The requested resource {path} was not found")

    def _list_messages(self, path: str, query: dict[str, str]) -> _Reply:
        try:
            size = min(MAX_PAGE_SIZE, max(1, int(query.get("PageSize", "50"))))
            page = max(0, int(query.get("Page", "0")))
            tests = [_date_test(op, query[key]) for key, op in (("DateSent>", ">"), ("DateSent<", "<"),
                                                               ("DateSent", "=")) if key in query]
        except ValueError as exc:
            return _error(400, 20001, f"Invalid parameter: {exc}")
        with self._lock:
            found = [m for m in self._messages.values()
                     if query.get("To", m.to) == m.to and query.get("From", m.from_) == m.from_
                     and all(test(m.date_created) for test in tests)]
        found.reverse()  # newest first, as Twilio lists them
        found.sort(key=lambda m: m.date_created, reverse=True)
        chunk = found[page * size:(page + 1) * size]
        filters = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def page_uri(number: int) -> str:
            return f"{path}?{urlencode({**filters, 'PageSize': size, 'Page': number})}"

        return _Reply(200, {
            "messages": [self._message_json(m, fresh=False) for m in chunk],
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) if (page + 1) * size < len(found) else None,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(0, len(chunk) - 1),
            "uri": page_uri(page),
        })

    def _resource_uri(self, kind: str, sid: str) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/{kind}/{sid}.json"

    def _message_json(self, m: StubMessage, fresh: bool) -> dict[str, Any]:
        """As Twilio shows it: 'queued' in the create answer, 'sent' (with date_sent) when read back."""
        created = format_datetime(m.date_created)
        uri = self._resource_uri("Messages", m.sid)
        return {
            "account_sid": self.account_sid, "api_version": API_VERSION, "body": m.body,
            "date_created": created, "date_updated": created, "date_sent": None if fresh else created,
            "direction": "outbound-api", "error_code": None, "error_message": None, "from": m.from_,
            "messaging_service_sid": m.messaging_service_sid, "num_media": "0",
            "num_segments": str(segments(m.body)), "price": None, "price_unit": "USD", "sid": m.sid,
            "status": ("accepted" if m.from_ is None else "queued") if fresh else "sent", "to": m.to,
            "uri": uri, "subresource_uris": {"media": uri.replace(".json", "/Media.json"),
                                             "feedback": uri.replace(".json", "/Feedback.json")},
        }

    def _call_json(self, c: StubCall) -> dict[str, Any]:
        created = format_datetime(c.date_created)
        uri = self._resource_uri("Calls", c.sid)
        return {
            "sid": c.sid, "date_created": created, "date_updated": created, "parent_call_sid": None,
            "account_sid": self.account_sid, "to": c.to, "to_formatted": c.to, "from": c.from_,
            "from_formatted": c.from_, "phone_number_sid": None, "status": "queued", "start_time": None,
            "end_time": None, "duration": None, "price": None, "price_unit": "USD", "direction": "outbound-api",
            "answered_by": None, "api_version": API_VERSION, "forwarded_from": None, "group_sid": None,
            "caller_name": None, "queue_time": "0", "trunk_sid": None, "uri": uri,
            "subresource_uris": {"recordings": uri.replace(".json", "/Recordings.json"),
                                 "notifications": uri.replace(".json", "/Notifications.json")},
        }


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    stub: TwilioStubServer

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError) or self.stub._stopping.is_set():
            return  # clients that time out and hang up are part of the job
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "TwilioStub/1.0"
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.stub._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.stub._track(self.connection, add=False)
        super().finish()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: thousands of requests a second would drown the test output."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.stub._handle(self.command, self.path, headers, body)
        if reply is None:
            self.close_connection = True
            return
        data = json.dumps(reply.payload).encode("utf-8")
        lines = [f"{self.protocol_version} {reply.status} {self.responses.get(reply.status, ('',))[0]}",
                 f"Server: {self.server_version}", f"Date: {self.date_time_string()}",
                 "Content-Type: application/json; charset=utf-8", f"Content-Length: {len(data)}",
                 f"Twilio-Request-Id: RQ{secrets.token_hex(16)}",
                 *(f"{name}: {value}" for name, value in reply.headers.items())]
        # Head and body in one send: half the syscalls of send_response()/end_headers()/write().
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)


def _shutdown(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by its handler
        conn.shutdown(socket.SHUT_RDWR)


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _single(query: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[-1] for k, v in query.items()}


def _error(status: int, code: int | None, message: str, rfc9457: bool = False, path: str = "") -> _Reply:
    """Twilio's error body; the SDK reads ``code`` and ``message`` (or, RFC 9457, ``type``/``title``)."""
    more_info = f"https://www.twilio.com/docs/errors/{code}" if code else "https://www.twilio.com/docs/errors"
    if rfc9457:
        title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else f"HTTP {status}"
        return _Reply(status, {"type": more_info, "title": title, "status": status, "code": code or status,
                               "detail": message, "instance": path})
    return _Reply(status, {"code": code, "message": message, "more_info": more_info, "status": status})


def _error_from(rule: Respond, path: str) -> _Reply:
    status = rule.status or 400
    code = rule.code if rule.code is not None else DEFAULT_CODES.get(status)
    message = rule.message or DEFAULT_MESSAGES.get(code or 0) or f"HTTP {status}"
    return _error(status, code, message, rule.rfc9457, path)


def _date_test(op: str, value: str) -> Callable[[datetime], bool]:
    """A predicate for Twilio's DateSent filters: a date (``YYYY-MM-DD``) means the whole day."""
    whole_day = len(value) == 10
    bound = (datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC) if whole_day
             else datetime.fromisoformat(value))
    if bound.tzinfo is None:
        bound = bound.replace(tzinfo=UTC)
    end = bound + timedelta(days=1) if whole_day else bound + timedelta(seconds=1)
    if op == ">":
        return lambda when: when >= bound
    if op == "<":
        return lambda when: when < end
    return lambda when: bound <= when < end


def segments(body: str) -> int:
    """How many SMS parts Twilio would bill: GSM-7 160/153 characters, otherwise UCS-2 70/67 (e.g. Chinese)."""
    if all(ch in GSM7 or ch in GSM7_EXTENDED for ch in body):
        units, single, multi = sum(2 if ch in GSM7_EXTENDED else 1 for ch in body), 160, 153
    else:
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / multi)
