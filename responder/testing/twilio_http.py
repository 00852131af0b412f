"""The local Twilio server's HTTP side: a threading HTTP/1.1 server with keep-alive, quiet, that hands each request
to whatever answers it (``twilio_server.TwilioStubServer``) and writes the reply in one send."""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from responder.testing.twilio_wire import Reply


class Answering(Protocol):
    """What the HTTP side needs of the server behind it."""

    stopping: threading.Event

    def track(self, conn: socket.socket, add: bool) -> None:
        """Note an open connection (``add``) or a closed one, so that stopping can cut the open ones."""
        ...

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply | None:
        """The reply to one request, or None to hang up (the server stopped while it was delayed)."""
        ...


class StubHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    stub: Answering

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError) or self.stub.stopping.is_set():
            return  # clients that time out and hang up are part of the job
        super().handle_error(request, client_address)


class StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "TwilioStub/1.0"
    server: StubHttpServer

    def setup(self) -> None:
        super().setup()
        self.server.stub.track(self.connection, add=True)

    def finish(self) -> None:
        self.server.stub.track(self.connection, add=False)
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
        reply = self.server.stub.answer(self.command, self.path, headers, body)
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


def shutdown_socket(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by its handler
        conn.shutdown(socket.SHUT_RDWR)
