"""The one entry point that reads any feed: picks the feed's reader, and never lets an exception escape, so one
bad feed cannot stop the cycle for the others. Apart from ``base.py`` so that the readers, which build on the
base, and the dispatcher to them do not import each other."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import httpx

from responder.domain.stations import Feed, Station
from responder.feeds.base import FeedContext, FeedResult
from responder.feeds.http import FeedError


def read_feed(feed: Feed, stations: Sequence[Station], now: datetime, *, since: datetime | None = None,
              zone: tzinfo = UTC, base_dir: Path | None = None, client: httpx.Client | None = None,
              sleep: Callable[[float], None] = time.sleep) -> FeedResult:
    """Read one feed now. Never raises: a feed that fails gives a result with ``error`` set."""
    import responder.feeds.csv_feed as csv_feed
    import responder.feeds.sl323 as sl323
    import responder.feeds.usgs as usgs
    import responder.feeds.waterml2 as waterml2

    readers: dict[str, Callable[[FeedContext], None]] = {
        "csv": csv_feed.read, "usgs": usgs.read, "waterml2": waterml2.read, "sl323": sl323.read,
        "manual": lambda ctx: None,
    }
    ctx = FeedContext(feed, stations, now, zone, since, base_dir, client, sleep)
    try:
        readers[feed.kind](ctx)
    except FeedError as exc:
        ctx.result.fail(str(exc))
    except Exception as exc:  # a surprise in the data must not stop the cycle for the other feeds
        ctx.result.fail(f"unexpected {type(exc).__name__}: {exc}")
    return ctx.result
