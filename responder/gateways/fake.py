"""An in-memory gateway for tests and drills: records every send and fails on demand, so that retries,
permanent failures and crash reconciliation can be exercised without a network."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

from responder.domain.clock import Clock, SystemClock
from responder.gateways.base import (
    Accepted,
    GatewayError,
    OutgoingCall,
    OutgoingSms,
    RetryableError,
    SentRecord,
    each,
)
from responder.gateways.ids import IdSequence

Kind: TypeAlias = Literal["sms", "call"]
ErrorSpec: TypeAlias = GatewayError | Callable[[], GatewayError]
"""An error to raise: an instance (copied on every raise, so tracebacks do not pile up) or a factory."""
Hook: TypeAlias = Callable[[OutgoingSms | OutgoingCall], None]


@dataclass(frozen=True, slots=True)
class SendRecord:
    """One send a gateway accepted (or, in ``FakeGateway.attempts``, refused with ``error``)."""

    kind: Kind
    sid: str
    to: str
    body: str
    """The SMS text, or the text a call reads."""
    sender: str | None
    time: datetime
    reference: str | None = None
    status_callback: str | None = None
    error: GatewayError | None = None
    language: str | None = None
    """A call's language."""
    keypress_url: str | None = None
    """Where a call's keypress goes."""

    def as_sent(self) -> SentRecord:
        return SentRecord(sid=self.sid, to=self.to, body=self.body, created_at=self.time, status="sent")


def record_of(kind: Kind, item: OutgoingSms | OutgoingCall, sid: str, time: datetime,
              error: GatewayError | None = None) -> SendRecord:
    if isinstance(item, OutgoingSms):
        return SendRecord(kind=kind, sid=sid, to=item.to, body=item.body, sender=item.sender, time=time,
                          reference=item.reference, status_callback=item.status_callback, error=error)
    return SendRecord(kind=kind, sid=sid, to=item.to, body=item.text, sender=item.sender, time=time,
                      reference=item.reference, status_callback=item.status_callback, error=error,
                      language=item.language, keypress_url=item.keypress_url)


class SentLog:
    """Thread-safe memory of accepted sends. The console and fake gateways answer ``sent_since`` from it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[SendRecord] = []

    def add(self, record: SendRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self, kind: Kind | None = None) -> list[SendRecord]:
        with self._lock:
            return [r for r in self._records if kind is None or r.kind == kind]

    def sent_since(self, to: str, since: datetime) -> list[SentRecord]:
        return [r.as_sent() for r in self.records("sms") if r.to == to and r.time >= since]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


def _raise(spec: ErrorSpec) -> GatewayError:
    return copy.copy(spec) if isinstance(spec, GatewayError) else spec()


class FakeGateway:
    """Scriptable stand-in for a provider: ``fail_next`` for transient trouble, ``fail_numbers`` for numbers
    that never work, ``hook`` to observe or interfere with each send (it may raise).

    ``batch_limit`` > 0 plays a provider with a batch request (:meth:`send_batch`, as Alibaba Cloud's SendSms): the
    dispatcher then hands SMS over that many at a time. A drill's fake gateway does, and sends thousands of
    messages in a few batches; by default it takes one SMS per request, as Twilio does. ``in_process``: as a drill
    plays it, a provider that nothing outside the process depends on (claim, hand-over and record in one
    transaction); by default it plays a real provider, whose rows are marked 'sending' before it is called, so that
    tests exercise the crash guarantees."""

    name = "fake"

    def __init__(self, clock: Clock | None = None, hook: Hook | None = None, run: str | None = None,
                 batch_limit: int = 0, in_process: bool = False) -> None:
        self.clock: Clock = clock or SystemClock()
        self.hook = hook
        self.batch_limit = batch_limit
        self.in_process = in_process
        self.batches: list[int] = []
        """The size of each batch request, in order."""
        self.reports_sent = True
        """Set False to play a provider that cannot list what it sent (``sent_since`` returns None)."""
        self._lock = threading.Lock()
        self._log = SentLog()
        self._attempts: list[SendRecord] = []
        self._next_failures: list[ErrorSpec] = []
        self._number_failures: dict[str, ErrorSpec] = {}
        # SMfake<run><n>: Twilio-like, and unique across processes (``RESPONDER_GATEWAY=fake`` on the command line).
        first = IdSequence("SMfake", sep="", width=6, run=run)
        self._seq: dict[Kind, IdSequence] = {"sms": first, "call": IdSequence("CAfake", sep="", width=6, run=first.run)}
        self.run = first.run

    # scripting
    def fail_next(self, n: int = 1, error: ErrorSpec | None = None) -> None:
        """The next ``n`` sends (SMS or call) raise ``error``; a RetryableError by default."""
        spec: ErrorSpec = error if error is not None else (lambda: RetryableError("scripted failure", code="fake"))
        with self._lock:
            self._next_failures.extend([spec] * n)

    def fail_numbers(self, rules: Mapping[str, ErrorSpec]) -> None:
        """Every send to these numbers raises its error, until ``clear_failures``."""
        with self._lock:
            self._number_failures.update(rules)

    def clear_failures(self) -> None:
        with self._lock:
            self._next_failures.clear()
            self._number_failures.clear()

    def reset(self) -> None:
        """Forget failures and records (sids keep counting up, as a real provider's would)."""
        self.clear_failures()
        self._log.clear()
        with self._lock:
            self._attempts.clear()

    # what happened
    @property
    def sms(self) -> list[SendRecord]:
        return self._log.records("sms")

    @property
    def calls(self) -> list[SendRecord]:
        return self._log.records("call")

    @property
    def records(self) -> list[SendRecord]:
        """Accepted SMS and calls, in order."""
        return self._log.records()

    @property
    def attempts(self) -> list[SendRecord]:
        """Every send tried, failed ones included (with ``error`` set)."""
        with self._lock:
            return list(self._attempts)

    # Gateway protocol
    def send_sms(self, message: OutgoingSms) -> Accepted:
        return self._send("sms", message)

    def send_batch(self, messages: Sequence[OutgoingSms]) -> list[Accepted | GatewayError]:
        if not 0 < len(messages) <= self.batch_limit:
            raise ValueError(f"a batch of {len(messages)} SMS: this gateway takes 1 to {self.batch_limit} at once")
        with self._lock:
            self.batches.append(len(messages))
        return each(self, messages)

    def place_call(self, call: OutgoingCall) -> Accepted:
        return self._send("call", call)

    def sent_since(self, to: str, since: datetime) -> list[SentRecord] | None:
        return self._log.sent_since(to, since) if self.reports_sent else None

    def close(self) -> None:
        """Nothing to release; present so that callers can close any gateway."""

    def _send(self, kind: Kind, item: OutgoingSms | OutgoingCall) -> Accepted:
        now = self.clock.now()
        with self._lock:
            spec = self._number_failures.get(item.to)
            if spec is None and self._next_failures:
                spec = self._next_failures.pop(0)
        error: GatewayError | None = _raise(spec) if spec is not None else None
        if error is None and self.hook is not None:
            try:
                self.hook(item)
            except GatewayError as exc:
                error = exc
        if error is not None:
            with self._lock:
                self._attempts.append(record_of(kind, item, "", now, error))
            raise error
        sid = self._seq[kind].next()
        record = record_of(kind, item, sid, now)
        with self._lock:
            self._attempts.append(record)
        self._log.add(record)
        return Accepted(sid=sid, status="queued")
