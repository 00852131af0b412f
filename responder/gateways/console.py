"""A gateway that prints instead of sending: the default, so that a fresh install or a drill on a laptop
can never text real people by accident."""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import TextIO

from responder.domain.clock import Clock, SystemClock
from responder.gateways.base import Accepted, OneAtATime, OutgoingCall, OutgoingSms, SentRecord
from responder.gateways.fake import Kind, SendRecord, SentLog, record_of
from responder.gateways.ids import IdSequence


class ConsoleGateway(OneAtATime):
    """Prints each SMS and call as plain text and remembers them, so ``sent_since`` still works."""

    name = "console"

    def __init__(self, stream: TextIO | None = None, clock: Clock | None = None, run: str | None = None) -> None:
        self._stream = stream
        """None means whatever ``sys.stdout`` is at the time of printing (so test capture works)."""
        self.clock: Clock = clock or SystemClock()
        self._log = SentLog()
        self.ids = IdSequence("CONSOLE-", run=run)
        """``CONSOLE-<run>-<n>``: unique across processes (``run`` is random unless given, e.g. by a test)."""
        self._lock = threading.Lock()

    @property
    def records(self) -> list[SendRecord]:
        return self._log.records()

    def send_sms(self, message: OutgoingSms) -> Accepted:
        return self._print("sms", message)

    def place_call(self, call: OutgoingCall) -> Accepted:
        return self._print("call", call)

    def sent_since(self, to: str, since: datetime) -> list[SentRecord] | None:
        return self._log.sent_since(to, since)

    def close(self) -> None:
        """Nothing to release; present so that callers can close any gateway."""

    def _print(self, kind: Kind, item: OutgoingSms | OutgoingCall) -> Accepted:
        sid = self.ids.next()
        record = record_of(kind, item, sid, self.clock.now())
        with self._lock:
            self._write(format_record(record))
        self._log.add(record)
        return Accepted(sid=sid, status="sent")

    def _write(self, text: str) -> None:
        stream = self._stream or sys.stdout
        try:
            stream.write(text)
        except UnicodeEncodeError:
            # A console that cannot show Chinese still gets every message, escaped rather than lost.
            encoding = getattr(stream, "encoding", None) or "ascii"
            stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
        stream.flush()


def format_record(record: SendRecord) -> str:
    """``[2027-07-01 01:00:00Z] SMS CONSOLE-3f9a2c1b-1 to +86... from (default) ref 17`` then the indented body."""
    head = (f"[{record.time:%Y-%m-%d %H:%M:%S}Z] {'SMS' if record.kind == 'sms' else 'CALL'} {record.sid} "
            f"to {record.to} from {record.sender or '(default)'}")
    if record.reference:
        head += f" ref {record.reference}"
    body = "\n".join(f"    {line}" for line in (record.body.splitlines() or [""]))
    return f"{head}\n{body}\n"
