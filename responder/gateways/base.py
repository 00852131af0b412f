"""The gateway interface the dispatcher uses. Nothing vendor-specific leaks past it, either way: a call carries
its text, language and keypress URL, and each vendor's adapter builds its own markup (TwiML for Twilio)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    kind: str | None = None
    """The message kind (callout, standdown...): a template-only provider picks its approved template by it."""
    fields: Mapping[str, str] | None = None
    """The values the text was filled with, from which a template-only provider's adapter fills its parameters."""


@dataclass(frozen=True, slots=True)
class OutgoingCall:
    """A voice call that reads ``text`` to the person in ``language`` and takes a keypress ("press 1 to confirm")."""

    to: str
    text: str
    language: str
    """Our language code (zh, en...): the adapter turns it into its provider's voice."""
    keypress_url: str | None = None
    """Where the provider posts the key pressed (our web hook); None when no public URL is configured, and then the
    message is only read."""
    sender: str | None = None
    status_callback: str | None = None
    reference: str | None = None
    kind: str | None = None
    fields: Mapping[str, str] | None = None


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
    batch_limit: int
    """The most SMS one :meth:`send_batch` request takes (Alibaba Cloud's SendSms: 1,000 numbers); 0 if the provider
    has none, and the dispatcher hands SMS over one at a time."""
    in_process: bool
    """True for a gateway that sends nothing out of this process (a drill's simulated provider): no provider holds
    anything to reconcile after a crash, so the dispatcher claims a batch, hands it over and records it in one
    transaction (a crash or a lost database rolls the claim back with the rest). False for every real provider:
    its rows are marked 'sending' in a committed transaction before it is called."""

    def send_sms(self, message: OutgoingSms) -> Accepted:
        """Hand one SMS to the provider; raises RetryableError or PermanentError."""
        ...

    def send_batch(self, messages: Sequence[OutgoingSms]) -> list[Accepted | GatewayError]:
        """Hand up to ``batch_limit`` SMS to the provider in one request: what became of each, in order. Raises
        RetryableError or PermanentError when the request as a whole fails. Only asked when ``batch_limit`` > 0."""
        ...

    def place_call(self, call: OutgoingCall) -> Accepted:
        """Start one voice call; raises RetryableError or PermanentError."""
        ...

    def sent_since(self, to: str, since: datetime) -> list[SentRecord] | None:
        """Messages to ``to`` created since ``since``, or None if the gateway cannot tell."""
        ...


class _SendsSms(Protocol):
    def send_sms(self, message: OutgoingSms) -> Accepted: ...


def each(send: _SendsSms, messages: Sequence[OutgoingSms]) -> list[Accepted | GatewayError]:
    """``messages`` handed over one request each: what became of each, in order."""
    outcomes: list[Accepted | GatewayError] = []
    for message in messages:
        try:
            outcomes.append(send.send_sms(message))
        except GatewayError as exc:
            outcomes.append(as_outcome(exc))
    return outcomes


def as_outcome(exc: GatewayError) -> GatewayError:
    """An error kept as a message's outcome rather than raised on: without its traceback, or its causes'.

    A traceback holds every frame of the send up to the dispatcher's loop, with their locals (the batch, its rows),
    and the outcome sits in those locals: a cycle the garbage collector frees late, or never while the error is
    kept (a fake gateway keeps every attempt). The outcome needs only the error's type, code and message."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        error.__traceback__ = None
        error = error.__cause__ or error.__context__
    return exc


class OneAtATime:
    """For a provider whose API takes one SMS per request: ``batch_limit`` 0 tells the dispatcher so, and
    ``send_batch`` (for any other caller) sends each message in a request of its own."""

    batch_limit = 0
    in_process = False

    def send_batch(self: _SendsSms, messages: Sequence[OutgoingSms]) -> list[Accepted | GatewayError]:
        return each(self, messages)
