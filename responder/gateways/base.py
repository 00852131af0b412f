"""The gateway interface the dispatcher and escalation use. Nothing vendor-specific leaks past it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    to: str
    """E.164."""
    body: str
    sender: str | None = None
    """The sender number or messaging service; None for the gateway's default."""
    status_callback: str | None = None
    reference: str | None = None
    """Our outbox id, for logs and the fake gateway's records."""


@dataclass(frozen=True, slots=True)
class OutgoingCall:
    to: str
    twiml: str
    """TwiML read to the person (Say + Gather 'press 1 to confirm')."""
    sender: str | None = None
    status_callback: str | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """The gateway took the message: its id (Twilio's MessageSid/CallSid) and its first status."""

    sid: str
    status: str = "queued"


@dataclass(frozen=True, slots=True)
class SentRecord:
    """A message the gateway says it has sent, used to reconcile rows left 'sending' by a crash."""

    sid: str
    to: str
    body: str
    created_at: datetime
    status: str


class GatewayError(Exception):
    """A send that failed. ``code`` is the vendor's (e.g. Twilio 21211), kept for the record."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class RetryableError(GatewayError):
    """Worth trying again later: rate limiting (429), server errors (5xx), timeouts, connection errors."""


class PermanentError(GatewayError):
    """Will never work as it is: invalid number (21211), unsubscribed (21610), other 4xx."""


class Gateway(Protocol):
    name: str

    def send_sms(self, message: OutgoingSms) -> Accepted:
        """Hand one SMS to the provider; raises RetryableError or PermanentError."""
        ...

    def place_call(self, call: OutgoingCall) -> Accepted:
        """Start one voice call; raises RetryableError or PermanentError."""
        ...

    def sent_since(self, to: str, since: datetime) -> list[SentRecord] | None:
        """Messages to ``to`` created since ``since``, or None if the gateway cannot tell."""
        ...
