"""The local Twilio server in child processes, for the benchmarks: the provider runs beside the workers,
not inside the process being measured."""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

FROM = "+15005550006"


def _serve(conn: Connection) -> None:
    from responder.testing import TwilioStubServer

    with TwilioStubServer() as stub:
        conn.send((stub.url, stub.account_sid, stub.auth_token))
        while True:
            command = conn.recv()
            if command == "count":
                conn.send(len(stub.messages))
            elif command == "arrivals":
                conn.send(sorted(m.received_at for m in stub.messages))
            elif command == "numbers":
                conn.send([m.to for m in stub.messages])
            elif command == "duplicates":
                tos = [m.to for m in stub.messages]
                conn.send(len(tos) - len(set(tos)))
            elif command == "cpu":
                times = os.times()
                conn.send(times.user + times.system)
            elif command == "reset":
                stub.reset()
                conn.send(None)
            elif command == "stop":
                conn.send(stub.internal_errors[:3])
                return


@dataclass
class Stub:
    conn: Connection
    process: Any
    url: str
    account_sid: str
    auth_token: str

    def ask(self, command: str) -> Any:
        self.conn.send(command)
        return self.conn.recv()

    def gateway(self) -> Any:
        """The real twilio SDK pointed at this server."""
        from responder.gateways.twilio.gateway import TwilioGateway

        return TwilioGateway(self.account_sid, self.auth_token, from_number=FROM, api_base_url=self.url, timeout=10)


@contextmanager
def stubs(count: int = 1) -> Iterator[list[Stub]]:
    """``count`` stub servers, each in its own process. Arrival times are ``time.monotonic()`` there: one clock for
    all on Linux (CLOCK_MONOTONIC is system-wide)."""
    context = mp.get_context("spawn")
    started: list[Stub] = []
    try:
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs,), daemon=True)
            process.start()
            started.append(Stub(ours, process, *ours.recv()))
        yield started
    finally:
        for stub in started:
            errors = stub.ask("stop")
            stub.process.join(5)
            if errors:
                print(f"!! the Twilio server had internal errors: {errors}", file=sys.stderr)
