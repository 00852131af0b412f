"""Paths to the real feed samples and our own fixtures, and the stations they are read for."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from responder.domain.stations import Feed, Station

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SHARED = (Path(__file__).resolve().parents[2] / "../shared/data/feeds").resolve()
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)  # 09:00 in Sanjian


def shared(name: str) -> Path:
    """A real sample from ../shared/data/feeds; the test is skipped only if that folder is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"the real feed samples are not here: {SHARED} is absent")
    path = SHARED / name
    assert path.is_file(), f"{path} is missing from the shared samples"
    return path


def station(id: str, kind: str, feed: str, source_id: str | None = None, **extra: object) -> Station:
    return Station.model_validate({"id": id, "name": {"en": id}, "kind": kind, "feed": feed,
                                   "source_id": source_id, **extra})


def feed(id: str, kind: str, **extra: object) -> Feed:
    return Feed.model_validate({"id": id, "kind": kind, **extra})
