"""What the local Twilio server says, and how: the API's routes and error codes, the records it keeps of what it
was sent, and its JSON as Twilio shapes it (``twilio_server`` serves these)."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any, Protocol

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
class Reply:
    """One answer: HTTP status, the JSON body and any extra headers."""

    status: int
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def resource_uri(account_sid: str, kind: str, sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/{kind}/{sid}.json"

def message_json(account_sid: str, m: StubMessage, fresh: bool) -> dict[str, Any]:
    """As Twilio shows it: 'queued' in the create answer, 'sent' (with date_sent) when read back."""
    created = format_datetime(m.date_created)
    uri = resource_uri(account_sid, "Messages", m.sid)
    return {
        "account_sid": account_sid, "api_version": API_VERSION, "body": m.body,
        "date_created": created, "date_updated": created, "date_sent": None if fresh else created,
        "direction": "outbound-api", "error_code": None, "error_message": None, "from": m.from_,
        "messaging_service_sid": m.messaging_service_sid, "num_media": "0",
        "num_segments": str(segments(m.body)), "price": None, "price_unit": "USD", "sid": m.sid,
        "status": ("accepted" if m.from_ is None else "queued") if fresh else "sent", "to": m.to,
        "uri": uri, "subresource_uris": {"media": uri.replace(".json", "/Media.json"),
                                         "feedback": uri.replace(".json", "/Feedback.json")},
    }

def call_json(account_sid: str, c: StubCall) -> dict[str, Any]:
    created = format_datetime(c.date_created)
    uri = resource_uri(account_sid, "Calls", c.sid)
    return {
        "sid": c.sid, "date_created": created, "date_updated": created, "parent_call_sid": None,
        "account_sid": account_sid, "to": c.to, "to_formatted": c.to, "from": c.from_,
        "from_formatted": c.from_, "phone_number_sid": None, "status": "queued", "start_time": None,
        "end_time": None, "duration": None, "price": None, "price_unit": "USD", "direction": "outbound-api",
        "answered_by": None, "api_version": API_VERSION, "forwarded_from": None, "group_sid": None,
        "caller_name": None, "queue_time": "0", "trunk_sid": None, "uri": uri,
        "subresource_uris": {"recordings": uri.replace(".json", "/Recordings.json"),
                             "notifications": uri.replace(".json", "/Notifications.json")},
    }


def sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def single(query: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[-1] for k, v in query.items()}


def error(status: int, code: int | None, message: str, rfc9457: bool = False, path: str = "") -> Reply:
    """Twilio's error body; the SDK reads ``code`` and ``message`` (or, RFC 9457, ``type``/``title``)."""
    more_info = f"https://www.twilio.com/docs/errors/{code}" if code else "https://www.twilio.com/docs/errors"
    if rfc9457:
        title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else f"HTTP {status}"
        return Reply(status, {"type": more_info, "title": title, "status": status, "code": code or status,
                               "detail": message, "instance": path})
    return Reply(status, {"code": code, "message": message, "more_info": more_info, "status": status})


def error_from(rule: Respond, path: str) -> Reply:
    status = rule.status or 400
    code = rule.code if rule.code is not None else DEFAULT_CODES.get(status)
    message = rule.message or DEFAULT_MESSAGES.get(code or 0) or f"HTTP {status}"
    return error(status, code, message, rule.rfc9457, path)


def date_test(op: str, value: str) -> Callable[[datetime], bool]:
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
