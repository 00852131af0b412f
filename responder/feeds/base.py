"""What every feed reader returns, and the context it reads in (the entry point is ``feeds/read.py``).

A reader turns its format into :class:`~responder.domain.readings.RawReading` rows and hands them to
:meth:`FeedContext.add`, which validates them the same way for every feed. A feed that cannot be read
at all (unreachable, HTTP 500, truncated JSON, invalid XML, changed schema, missing table) gives a
result with ``error`` set: :func:`read_feed` never lets an exception escape, so one bad feed cannot
stop the cycle for the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import httpx

from responder.domain.readings import RawReading, Reading, Rejected, validate
from responder.domain.redact import redact
from responder.domain.stations import Feed, Station, station_for, stations_of
from responder.feeds.http import MAX_BYTES, FeedError, fetch

__all__ = ["FeedContext", "FeedError", "FeedResult"]


@dataclass
class FeedResult:
    feed: str
    readings: list[Reading] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    error: str | None = None
    """Why the feed (or part of it) could not be read; None when it was read."""
    missing: int = 0
    """Values the feed marks as missing (noDataValue, empty points, NULL columns): skipped, not bad."""
    notes: list[str] = field(default_factory=list)
    """Things worth a look that are not errors (a series with no values, an unmapped parameter)."""
    unknown_parameters: dict[str, int] = field(default_factory=dict)
    """Series of parameters the plan maps to no quantity (wind, another water-level code), by parameter code."""

    @property
    def ok(self) -> bool:
        return self.error is None

    def fail(self, reason: str) -> None:
        """Record a failure of part of the feed; what was read so far is kept. A URL's credentials are hidden here,
        before the reason reaches the table, ``--json``, ``feed_status``, the audit record or a log."""
        reason = redact(reason)
        self.error = reason if self.error is None else f"{self.error}; {reason}"


@dataclass
class FeedContext:
    """One read of one feed: the stations it serves, the clock, and where its bytes come from."""

    feed: Feed
    stations: Sequence[Station]
    now: datetime
    zone: tzinfo = UTC
    """The plan's zone: times without an offset are read in the document's zone (when the reader found one),
    else the station's, else the feed's, else this one."""
    since: datetime | None = None
    """Only readings after this time are kept (None: all the feed has)."""
    base_dir: Path | None = None
    client: httpx.Client | None = None
    sleep: Callable[[float], None] = time.sleep
    index: dict[str, tuple[Station, ...]] = field(init=False)
    result: FeedResult = field(init=False)

    def __post_init__(self) -> None:
        self.index = stations_of(self.stations, self.feed.id)
        self.result = FeedResult(self.feed.id)

    @property
    def time_zone(self) -> tzinfo:
        return self.feed.zone or self.zone

    def wants(self, source_id: str, quantity: str) -> bool:
        """Whether a row of a multi-quantity feed concerns us: our station and a quantity it measures.

        Rows of unknown stations are wanted when the feed quarantines them, so that they show up.
        """
        stations = self.index.get(source_id)
        if not stations:
            return self.feed.unknown_stations == "quarantine"
        return any(s.measures(quantity) for s in stations)

    def unknown_parameter(self, code: str, note: str) -> None:
        """A series of a parameter the plan does not map: counted per code, and the first one noted."""
        if code not in self.result.unknown_parameters:
            self.result.notes.append(note)
        self.result.unknown_parameters[code] = self.result.unknown_parameters.get(code, 0) + 1

    def add(self, raw: RawReading, zone: tzinfo | None = None) -> None:
        """Validate one row; ``zone`` is the zone the document itself gives for its times, if any."""
        if raw.source_id not in self.index and self.feed.unknown_stations == "ignore":
            return
        station = station_for(self.index.get(raw.source_id, ()), raw.quantity)
        known = {raw.source_id: station} if station else {}
        local = zone or (station.zone if station else None) or self.time_zone
        outcome = validate(raw, known, self.now, zone=local)
        if isinstance(outcome, Rejected):
            self.result.rejected.append(outcome)
        elif self.since is None or outcome.time > self.since:
            self.result.readings.append(outcome)

    def load(self) -> bytes:
        """The feed's document, from its URL (with timeout and retries) or its local file."""
        if self.feed.url:
            return fetch(self.feed.url, timeout=self.feed.timeout.total_seconds(), retries=self.feed.retries,
                         client=self.client, sleep=self.sleep)
        if not self.feed.path:
            raise FeedError(f"feed {self.feed.id} has no url or path")
        path = Path(self.feed.path)
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        try:
            with path.open("rb") as file:
                data = file.read(MAX_BYTES + 1)  # not the whole of a 200 MB file: the cap, and one byte to know
        except FileNotFoundError:
            raise FeedError(f"file not found: {path}") from None
        except OSError as exc:
            raise FeedError(f"cannot read {path}: {exc.strerror}") from None
        if len(data) > MAX_BYTES:
            raise FeedError(f"{path}: file larger than {MAX_BYTES // (1024 * 1024)} MB; a feed document is smaller "
                            "(split it, or read it over a database feed)")
        return data

    def text(self) -> str:
        data = self.load()
        encoding = "utf-8-sig" if self.feed.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else \
            self.feed.encoding
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise FeedError(f"not {self.feed.encoding} text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                            "set the feed's encoding (e.g. gbk)") from None
