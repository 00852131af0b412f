"""Provider ids for the gateways that make their own (console, fake): unique across processes.

The outbox keeps every provider id unique, and the officer runs one command per process: ids that restart at 1
in each process clashed from the second command on. Each gateway instance draws a short random run token, so its
ids read ``CONSOLE-3f9a2c1b-1``, ``-2``, ... and two processes never share one (2^32 tokens).
"""

from __future__ import annotations

import itertools
import threading
import uuid


class IdSequence:
    """``{prefix}{run}{sep}{n}``: the run token tells processes apart, the counter tells messages apart."""

    def __init__(self, prefix: str, sep: str = "-", width: int = 0, run: str | None = None) -> None:
        self.run = run if run is not None else uuid.uuid4().hex[:8]
        self._prefix, self._sep, self._width = prefix, sep, width
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            n = next(self._count)
        return f"{self._prefix}{self.run}{self._sep}{n:0{self._width}d}"
