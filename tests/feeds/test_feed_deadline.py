"""A feed's ``timeout`` is a deadline for the whole fetch: a server dripping bytes cannot hold a cycle.

A real local server sends its headers (or its body) one byte at a time, each byte well within any read
timeout; the fetch must still give up at the feed's timeout, and the other feeds of the cycle are read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from feeds_support import DATA, NOW, SHANGHAI, feed, station

from responder.feeds import read_feed
from responder.testing.dripping_http import DrippingServer

RAIN = [station("rain-yuquanzi", "rain", "county", "60812400"),
        station("rain-caisenba", "rain", "good", "60812410")]


@pytest.fixture
def dripping() -> Iterator[str]:
    with DrippingServer((DATA / "county-rain.csv").read_bytes()) as url:
        yield url


@pytest.mark.parametrize("path", ["/slow.csv", "/slow-head.csv"])
def test_a_dripping_server_is_given_up_at_the_feed_timeout(dripping: str, path: str) -> None:
    started = time.monotonic()
    result = read_feed(feed("county", "csv", url=f"{dripping}{path}", timeout="1s", retries=2), RAIN, NOW,
                       zone=SHANGHAI)
    took = time.monotonic() - started
    assert took < 2.5, f"held for {took:.1f} s with a 1 s timeout"
    assert result.error is not None and "within the feed's timeout of 1 s" in result.error, result.error


def test_one_dripping_feed_does_not_stop_the_next_one(dripping: str) -> None:
    started = time.monotonic()
    slow = read_feed(feed("county", "csv", url=f"{dripping}/slow.csv", timeout="1s"), RAIN, NOW, zone=SHANGHAI)
    good = read_feed(feed("good", "csv", url=f"{dripping}/good.csv", timeout="1s"), RAIN, NOW, zone=SHANGHAI)
    assert time.monotonic() - started < 3.5
    assert not slow.ok and good.ok and good.readings


def test_a_feed_file_over_the_cap_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    big = tmp_path / "huge.csv"
    with big.open("wb") as file:
        file.write(b"station,time,value\n")
        file.truncate(32 * 1024 * 1024 + 10)  # sparse: large on paper, nothing written
    result = read_feed(feed("county", "csv", path=str(big)), RAIN, NOW, zone=SHANGHAI)
    assert result.error is not None and "file larger than 32 MB" in result.error, result.error
