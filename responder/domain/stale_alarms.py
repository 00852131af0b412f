"""When a silent gauge is worth a message: hysteresis per station, one message per feed, a quiet period,
and a cap on messages per hour to one person.

A gauge configured for 15 minutes but fed hourly is silent for half of every hour: told at every
change, the duty officer got 192 SMS in 48 h. Here a station counts as silent from the first cycle that
finds it stale, and as back only after it has stayed fresh for ``recover_after`` (at least twice its
interval); what the officer hears is per feed (one message for 40 silent stations), never twice about
one feed within ``quiet_period``, and never more than ``max_per_hour`` such messages to one person, counted
by the caller from what the outbox already holds (so that it holds across processes).

Pure: plain values in, plain values out; the time is the ``now`` the caller's clock gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from responder.domain.types import Duration, within

ALARM_KINDS = ("stale_feed", "feed_recovered")
"""Outbox kinds of these messages: what the per-person cap counts."""


class AlarmPolicy(BaseModel):
    """The plan's ``feed_alarms``: how eager the stale-feed alarm is."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    recover_after: Annotated[Duration, within("0s", "7d")] = timedelta(hours=1)
    """A silent station counts as back once it has stayed fresh this long (and at least twice its interval)."""
    quiet_period: Annotated[Duration, within("0s", "7d")] = timedelta(hours=1)
    """After a message about a feed, the next one about the same feed waits at least this long."""
    max_per_hour: Annotated[int, Field(ge=1, le=60)] = 4
    """Stale-feed messages to one person in any hour, whatever the feeds and processes."""


@dataclass(frozen=True, slots=True)
class Observation:
    """What this cycle saw of one station."""

    station: str
    feed: str
    stale: bool
    last_time: datetime | None
    interval: timedelta


@dataclass(frozen=True, slots=True)
class StationWatch:
    """A station's alarm state between cycles: silent since when, fresh again since when."""

    silent_since: datetime | None = None
    fresh_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class FeedWatch:
    """What the duty officer was last told about a feed, and when."""

    announced: frozenset[str] = frozenset()
    """The stations the last message said were silent (empty: none, or the all-clear was sent). Kept as told:
    one that comes back while others are still silent is not a message, and is named in the all-clear."""
    last_message_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FeedMessage:
    feed: str
    kind: Literal["stale_feed", "feed_recovered"]
    stations: tuple[str, ...]
    """stale_feed: every station of the feed silent now; feed_recovered: those that came back."""
    silent_for: timedelta | None
    """stale_feed: how long the most recently silent of them has been (None: never reported)."""


@dataclass
class AlarmStep:
    stations: dict[str, StationWatch] = field(default_factory=dict)
    """Stations whose state changed (a default StationWatch: no longer alarmed)."""
    feeds: dict[str, FeedWatch] = field(default_factory=dict)
    """Feeds whose state changed."""
    messages: list[FeedMessage] = field(default_factory=list)
    went_silent: list[str] = field(default_factory=list)
    came_back: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    """Feeds with news the quiet period or the hourly cap holds back: told at a later cycle, if still true."""


def step(policy: AlarmPolicy, seen: Iterable[Observation], stations: Mapping[str, StationWatch],
         feeds: Mapping[str, FeedWatch], now: datetime, budget: int,
         watched: Iterable[str] | None = None) -> AlarmStep:
    """One cycle: each station's state, then at most one message per feed, at most ``budget`` in all.

    ``budget`` is how many more stale-feed messages the recipient may get in the hour up to ``now``. ``seen`` need
    only hold the stations stale now or in ``stations``: a fresh one without alarm state stays as it is. ``watched``:
    the feeds with a station seen this cycle (by default those of ``seen``), whose all-clear is due when none of
    their stations is silent any more.
    """
    out = AlarmStep()
    silent: dict[str, set[str]] = {}
    silence: dict[str, timedelta | None] = {}
    seen = list(seen)
    for feed in watched if watched is not None else (obs.feed for obs in seen):
        silent.setdefault(feed, set())
    for obs in seen:
        before = stations.get(obs.station, StationWatch())
        after = _station(policy, obs, before, now)
        if after != before:
            out.stations[obs.station] = after
            if before.silent_since is None:
                out.went_silent.append(obs.station)
            elif after.silent_since is None:
                out.came_back.append(obs.station)
        silent.setdefault(obs.feed, set())
        if after.silent_since is not None:
            silent[obs.feed].add(obs.station)
            silence[obs.station] = now - obs.last_time if obs.last_time else None
    for feed in sorted(silent):  # a feed no longer in the plan is not talked about
        current = frozenset(silent.get(feed, ()))
        told = feeds.get(feed, FeedWatch())
        message = _news(feed, current, told, silence)
        if message is None:  # nothing new, or only some came back: not worth waking anyone
            continue
        quiet = told.last_message_at is not None and now - told.last_message_at < policy.quiet_period
        if quiet or budget <= 0:
            out.held.append(feed)
            continue
        budget -= 1
        out.messages.append(message)
        out.feeds[feed] = FeedWatch(current, now)
    return out


def _station(policy: AlarmPolicy, obs: Observation, watch: StationWatch, now: datetime) -> StationWatch:
    if watch.silent_since is None:
        return StationWatch(now) if obs.stale else watch
    if obs.stale:
        return StationWatch(watch.silent_since)
    fresh_since = watch.fresh_since or now
    if now - fresh_since >= max(policy.recover_after, 2 * obs.interval):
        return StationWatch()
    return StationWatch(watch.silent_since, fresh_since)


def _news(feed: str, current: frozenset[str], told: FeedWatch,
          silence: Mapping[str, timedelta | None]) -> FeedMessage | None:
    """A message when stations went silent that the officer was not told of, or when all are back."""
    new = current - told.announced
    if new:
        times = [t for s in new if (t := silence.get(s)) is not None]
        return FeedMessage(feed, "stale_feed", tuple(sorted(current)), min(times) if times else None)
    if not current and told.announced:
        return FeedMessage(feed, "feed_recovered", tuple(sorted(told.announced)), None)
    return None
