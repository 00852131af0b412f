"""A local server speaking the part of Twilio's REST API that the responder uses, so that the real SDK can be
exercised end to end (errors, timeouts, rate limits, Chinese text) without an account or a network.

Point the SDK at it with ``TwilioGateway(..., api_base_url=server.url)`` (which sets ``client.api.base_url``).
Standard library only, safe to use from many threads. Its wire format is ``twilio_wire``, its HTTP side
``twilio_http``.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from datetime import UTC
from types import TracebackType
from urllib.parse import parse_qs, urlencode, urlsplit

from responder.testing.twilio_http import StubHandler, StubHttpServer, shutdown_socket
from responder.testing.twilio_wire import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_MESSAGES,
    E164,
    MAX_PAGE_SIZE,
    ROUTE,
    Clock,
    Reply,
    Respond,
    StubCall,
    StubMessage,
    StubRequest,
    SystemClock,
    call_json,
    date_test,
    error,
    error_from,
    message_json,
    segments,
    single,
)
from responder.testing.twilio_wire import sid as new_sid

__all__ = ["DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "Respond", "StubCall", "StubMessage", "StubRequest",
           "TwilioStubServer", "segments"]


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
        self.clock: Clock = clock or SystemClock()
        self.rate_limit_per_second = rate_limit_per_second
        self.rate_limit_burst = rate_limit_burst
        self._address = (host, port)
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: StubHttpServer | None = None
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
        self.stopping.clear()
        server = StubHttpServer(self._address, StubHandler)
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
            self.stopping.set()
            open_connections = list(self._connections)
        for conn in open_connections:
            shutdown_socket(conn)
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
    def track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if not add:
                self._connections.discard(conn)
                return
            self._connections.add(conn)
            stopping = self.stopping.is_set()
        if stopping:
            shutdown_socket(conn)

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply | None:
        """The reply to one request, or None if the server stopped while it was delayed."""
        arrived = time.monotonic()
        with self._lock:
            self._in_flight += 1
        try:
            reply = self._dispatch(method, target, headers, body, arrived)
        except Exception as exc:  # a stub bug must not kill the connection thread
            with self._lock:
                self.internal_errors.append(exc)
            reply = error(500, 20500, f"stub error: {exc!r}")
        with self._lock:
            self._in_flight -= 1
            self._requests.append(StubRequest(arrived, method, target, reply.status if reply else 0))
        return reply

    def _dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes,
                  arrived: float) -> Reply | None:
        parts = urlsplit(target)
        route = ROUTE.match(parts.path)
        if route is None:
            return error(404, 20404, f"The requested resource {parts.path} was not found")
        if headers.get("authorization") != self._expected_auth:
            reply = error(401, 20003, DEFAULT_MESSAGES[20003])
            reply.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return reply
        if route["account"] != self.account_sid:
            return error(404, 20404, f"The requested resource {parts.path} was not found")
        with self._lock:
            scripted = self._script.pop(0) if self._script else None
        if scripted is not None:
            if scripted.delay > 0 and self.stopping.wait(scripted.delay):
                return None
            if scripted.is_error:
                return error_from(scripted, parts.path)
        kind, sid = route["kind"], route["sid"]
        if method == "GET" and sid is not None:
            return self._fetch(kind, sid, parts.path)
        if method == "GET" and kind == "Messages":
            return self._list_messages(parts.path, single(parse_qs(parts.query, keep_blank_values=True)))
        if method == "POST" and sid is None:
            form = single(parse_qs(body.decode("utf-8"), keep_blank_values=True))
            refused = self._refuse_send(form, arrived, parts.path)
            if refused is not None:
                return refused
            return self._create_message(form, arrived) if kind == "Messages" else self._create_call(form, arrived)
        return error(405, 20004, DEFAULT_MESSAGES[20004])

    def _refuse_send(self, form: dict[str, str], arrived: float, path: str) -> Reply | None:
        with self._lock:
            rule = self._number_rules.get(form.get("To", ""))
            limited = not self._take_token(form.get("From") or form.get("MessagingServiceSid") or "", arrived)
        if rule is not None:
            return error_from(rule, path)
        if limited:
            return error(429, 20429, DEFAULT_MESSAGES[20429])
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

    def _create_message(self, form: dict[str, str], arrived: float) -> Reply:
        to, body = form.get("To", ""), form.get("Body", "")
        sender, service = form.get("From") or None, form.get("MessagingServiceSid") or None
        if not to:
            return error(400, 21604, "A 'To' phone number is required.")
        if not body:
            return error(400, 21602, "Message body is required.")
        if sender is None and service is None:
            return error(400, 21603, "A 'From' phone number is required.")
        if not E164.match(to):
            return error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if len(body) > 1600:
            return error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        message = StubMessage(sid=new_sid("SM"), to=to, from_=sender, body=body, messaging_service_sid=service,
                              status_callback=form.get("StatusCallback") or None,
                              date_created=self.clock.now().astimezone(UTC), received_at=arrived)
        with self._lock:
            self._messages[message.sid] = message
        return Reply(201, message_json(self.account_sid, message, fresh=True))

    def _create_call(self, form: dict[str, str], arrived: float) -> Reply:
        to, sender = form.get("To", ""), form.get("From", "")
        twiml, url = form.get("Twiml") or None, form.get("Url") or None
        if not to:
            return error(400, 21201, "No 'To' number is specified")
        if not sender:
            return error(400, 21213, "No 'From' number is specified")
        if twiml is None and url is None and not form.get("ApplicationSid"):
            return error(400, 21205, "Url parameter is required.")
        if not E164.match(to):
            return error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        call = StubCall(sid=new_sid("CA"), to=to, from_=sender, twiml=twiml, url=url,
                        status_callback=form.get("StatusCallback") or None,
                        date_created=self.clock.now().astimezone(UTC), received_at=arrived)
        with self._lock:
            self._calls[call.sid] = call
        return Reply(201, call_json(self.account_sid, call))

    def _fetch(self, kind: str, sid: str, path: str) -> Reply:
        with self._lock:
            message = self._messages.get(sid) if kind == "Messages" else None
            call = self._calls.get(sid) if kind == "Calls" else None
        if message is not None:
            return Reply(200, message_json(self.account_sid, message, fresh=False))
        if call is not None:
            return Reply(200, call_json(self.account_sid, call))
        return error(404, 20404, f"The requested resource {path} was not found")

    def _list_messages(self, path: str, query: dict[str, str]) -> Reply:
        try:
            size = min(MAX_PAGE_SIZE, max(1, int(query.get("PageSize", "50"))))
            page = max(0, int(query.get("Page", "0")))
            tests = [date_test(op, query[key]) for key, op in (("DateSent>", ">"), ("DateSent<", "<"),
                                                               ("DateSent", "=")) if key in query]
        except ValueError as exc:
            return error(400, 20001, f"Invalid parameter: {exc}")
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

        return Reply(200, {
            "messages": [message_json(self.account_sid, m, fresh=False) for m in chunk],
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) if (page + 1) * size < len(found) else None,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(0, len(chunk) - 1),
            "uri": page_uri(page),
        })
