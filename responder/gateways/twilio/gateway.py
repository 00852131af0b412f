"""Twilio through its official SDK. Every vendor and transport error is turned into a RetryableError or a
PermanentError here (``classify``), so nothing past this module knows Twilio exists."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from responder.gateways.base import (
    Accepted,
    GatewayError,
    OneAtATime,
    OutgoingCall,
    OutgoingSms,
    PermanentError,
    RetryableError,
    SentRecord,
)
from responder.gateways.twilio.twiml import call_twiml

try:  # twilio >= 9.10 raises this for RFC 9457 error bodies
    from twilio.base.exceptions import TwilioServiceException
except ImportError:  # pragma: no cover - older 9.x never raises it

    class TwilioServiceException(TwilioException):  # type: ignore[no-redef,misc]
        title: str = ""
        detail: str | None = None
        status: int = 0
        code: int = 0

PERMANENT_CODES = frozenset({21211, 21610, 21614})
"""Invalid number, unsubscribed (STOP), not a mobile number: never worth retrying, whatever the HTTP status."""
RETRYABLE_STATUSES = frozenset({408, 429})
BAD_CONFIG = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (TwilioException, requests.RequestException, OSError, ValueError)
"""What a call into the SDK may raise besides our bugs: vendor errors, requests/socket failures, bad JSON."""
SENT_SINCE_LIMIT = 200
SDK_LOG = logging.getLogger("responder.gateways.twilio_sdk")
"""The SDK logs every request and response at INFO (phone numbers included); keep that out of normal logs."""
SDK_LOG.setLevel(logging.WARNING)


def classify(exc: BaseException) -> GatewayError:
    """Our kind of error for anything the SDK raised. Unknown trouble is retryable: during an emergency a
    duplicate warning is better than a lost one, and the send deadline still bounds the retries."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, TwilioServiceException):
        detail = f"{exc.title}: {exc.detail}" if exc.detail and exc.detail != exc.title else str(exc.title)
        return _by_status(exc.status, exc.code, detail)
    if isinstance(exc, TwilioRestException):
        return _by_status(exc.status, exc.code, exc.msg or f"HTTP {exc.status}")
    if isinstance(exc, TwilioException):
        # e.g. Page.process_response: TwilioException("Unable to fetch page", response)
        status = getattr(exc.args[1], "status_code", None) if len(exc.args) > 1 else None
        message = str(exc.args[0]) if exc.args else type(exc).__name__
        return _by_status(status, None, message) if isinstance(status, int) else RetryableError(message)
    if isinstance(exc, requests.Timeout):
        return RetryableError(f"timed out: {exc}")
    if isinstance(exc, BAD_CONFIG):
        return PermanentError(f"bad Twilio API URL: {exc}")
    if isinstance(exc, requests.RequestException | OSError):
        return RetryableError(f"connection failed: {exc}")
    return RetryableError(f"unexpected {type(exc).__name__}: {exc}")


def _by_status(status: object, code: object, message: str) -> GatewayError:
    code_text = str(code) if code is not None else None
    status_number = _int_or_none(status) or 0
    if _int_or_none(code) in PERMANENT_CODES:
        return PermanentError(message, code=code_text)
    if status_number in RETRYABLE_STATUSES or status_number >= 500:
        return RetryableError(message, code=code_text)
    if 400 <= status_number < 500:
        return PermanentError(message, code=code_text)
    return RetryableError(message, code=code_text)


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None


class TwilioGateway(OneAtATime):
    """SMS and voice through Twilio, one message per request (its Messages API has no batch send).

    ``api_base_url`` points the SDK elsewhere (the local stub server, staging); ``timeout`` bounds every HTTP
    request so that a hung provider becomes a RetryableError."""

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_number: str | None = None,
                 messaging_service_sid: str | None = None, api_base_url: str | None = None,
                 status_callback: str | None = None, timeout: float = 10) -> None:
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback
        self._http = TwilioHttpClient(timeout=timeout, logger=SDK_LOG)
        assert self._http.session is not None
        # The SDK only sizes the https pool; senders run several threads, over http to a local server too.
        pool = max(32, (os.cpu_count() or 1) + 4)
        for scheme in ("http://", "https://"):
            self._http.session.mount(scheme, HTTPAdapter(pool_connections=4, pool_maxsize=pool))
        self.client = Client(account_sid, auth_token, http_client=self._http)
        if api_base_url:
            # Every REST call used here lives on the Api domain; its base_url is where requests go.
            self.client.api.base_url = api_base_url.rstrip("/")
            # TWILIO_EDGE/TWILIO_REGION in the environment would rewrite the host name.
            self.client.edge = None
            self.client.region = None

    def send_sms(self, message: OutgoingSms) -> Accepted:
        sender: dict[str, str] = {}
        if message.sender and message.sender.startswith("MG"):
            sender["messaging_service_sid"] = message.sender
        elif message.sender:
            sender["from_"] = message.sender
        elif self.messaging_service_sid:
            sender["messaging_service_sid"] = self.messaging_service_sid
        elif self.from_number:
            sender["from_"] = self.from_number
        else:
            raise PermanentError("no sender: set a from number or a messaging service")
        created = self._call(self.client.messages.create, to=message.to, body=message.body, **sender,
                             **self._callback(message.status_callback))
        return Accepted(sid=str(created.sid), status=str(created.status or "queued"))

    def place_call(self, call: OutgoingCall) -> Accepted:
        caller = call.sender or self.from_number
        if not caller or caller.startswith("MG"):
            raise PermanentError("no caller number: voice calls need a from number, not a messaging service")
        created = self._call(self.client.calls.create, to=call.to, from_=caller,
                             twiml=call_twiml(call.text, call.language, call.keypress_url),
                             **self._callback(call.status_callback))
        return Accepted(sid=str(created.sid), status=str(created.status or "queued"))

    def sent_since(self, to: str, since: datetime) -> list[SentRecord] | None:
        """Filtered here by creation time, not with Twilio's ``DateSent>``: a message still queued at Twilio
        (1 per second per number during a mass call-out) has no send date yet and would be missed, then sent
        twice. One person's recent messages are the newest few, so one page of them is enough."""
        floor = since.astimezone(UTC).replace(microsecond=0)
        try:
            found = self.client.messages.list(to=to, limit=SENT_SINCE_LIMIT)
        except TRANSPORT_ERRORS:
            return None
        return [SentRecord(sid=str(m.sid), to=str(m.to), body=str(m.body or ""), created_at=m.date_created,
                           status=str(m.status or ""))
                for m in found if m.date_created is not None and m.date_created >= floor]

    def close(self) -> None:
        """Release pooled connections."""
        if self._http.session is not None:
            self._http.session.close()

    def __enter__(self) -> TwilioGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _callback(self, url: str | None) -> dict[str, str]:
        chosen = url or self.status_callback
        return {"status_callback": chosen} if chosen else {}

    @staticmethod
    def _call(method: Any, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except TRANSPORT_ERRORS as exc:
            raise classify(exc) from exc
