"""A local HTTP server that answers as slowly as a broken feed can: one byte at a time.

Each byte comes well within any read timeout, so only a deadline on the whole fetch stops a client.
``/slow-head...`` drips the status line and headers, any other ``/slow...`` path sends its headers and
drips the body, and every other path answers at once with the body it was given.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class DrippingServer:
    """``with DrippingServer(body) as url:``; ``gap`` seconds between bytes, for at most ``drip_for`` seconds."""

    def __init__(self, body: bytes, *, gap: float = 0.4, drip_for: float = 12.0) -> None:
        self.body, self.gap, self.drip_for = body, gap, drip_for
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n"
        try:
            if handler.path.startswith("/slow-head"):
                self._drip(handler, head % len(self.body))
            elif handler.path.startswith("/slow"):
                slow = self.body * 100
                handler.wfile.write(head % len(slow))
                handler.wfile.flush()
                self._drip(handler, slow)
            else:
                handler.wfile.write(head % len(self.body) + self.body)
        except OSError:  # the client gave up: what it should do
            return

    def _drip(self, handler: BaseHTTPRequestHandler, data: bytes) -> None:
        stop = time.monotonic() + self.drip_for
        for byte in data:
            if time.monotonic() > stop:
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(self.gap)

    def __enter__(self) -> str:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self.url

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
