"""Values the rules compare against, derived from readings: pure functions, time passed in.

Conventions shared with the SQL in ``storage/readings_repo.py`` so that both give the same numbers:
a rain reading is the rain of the period *ending* at its time, so windows and days are closed on the
right: the 24 h window at ``now`` is ``(now - 24h, now]`` and a reading at exactly midnight belongs to
the day that just ended. Rate of rise is the least-squares slope over the lookback, in m/h, which
copes with irregular and missing reports.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from responder.domain.stations import Quantity, Station, StationKind

HOUR = timedelta(hours=1)
DEFAULT_WINDOWS = (timedelta(hours=1), timedelta(hours=3), timedelta(hours=6), timedelta(hours=24))
DEFAULT_LOOKBACK = timedelta(hours=1)
DEFAULT_DRY_BELOW_MM = 1.0
DEFAULT_DRY_HORIZON_DAYS = 60
STALE_FACTOR = 2
"""A station silent for this many of its reporting intervals is stale."""

class Sample(Protocol):
    """Anything with a time and a value: a Reading, or a test's point."""

    @property
    def time(self) -> datetime: ...

    @property
    def value(self) -> float: ...


class ReadingLike(Sample, Protocol):
    @property
    def station(self) -> str: ...

    @property
    def quantity(self) -> str: ...


def in_window(when: datetime, now: datetime, window: timedelta) -> bool:
    return now - window < when <= now


def window_total(samples: Iterable[Sample], now: datetime, window: timedelta) -> float:
    """Sum of values in ``(now - window, now]``: rain fallen over the window."""
    return sum((s.value for s in samples if in_window(s.time, now, window)), 0.0)


def window_totals(samples: Iterable[Sample], now: datetime,
                  windows: Iterable[timedelta] = DEFAULT_WINDOWS) -> dict[timedelta, float]:
    points = list(samples)
    return {w: window_total(points, now, w) for w in windows}


@dataclass(frozen=True, slots=True)
class SlopeSums:
    """Sums for a least-squares line, x in hours relative to ``now``: SQL can add them up in bulk."""

    n: int = 0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    sxy: float = 0.0
    first: float = 0.0
    """Earliest x (hours, ≤ 0)."""
    last: float = 0.0

    @classmethod
    def of(cls, samples: Iterable[Sample], now: datetime, lookback: timedelta) -> SlopeSums:
        xs: list[float] = []
        ys: list[float] = []
        for s in samples:
            if in_window(s.time, now, lookback):
                xs.append((s.time - now) / HOUR)
                ys.append(s.value)
        if not xs:
            return cls()
        return cls(len(xs), sum(xs), sum(ys), sum(x * x for x in xs), sum(x * y for x, y in zip(xs, ys, strict=True)),
                   min(xs), max(xs))

    def slope(self, min_span_hours: float) -> float | None:
        """Units per hour; None with fewer than two reports or ones too close together to trust."""
        return self.line(self.n, self.sx, self.sy, self.sxx, self.sxy, self.first, self.last, min_span_hours)

    @staticmethod
    def line(n: int, sx: float, sy: float, sxx: float, sxy: float, first: float, last: float,
             min_span_hours: float) -> float | None:
        """:meth:`slope` from the sums as they come (the bulk SQL path makes no object per station)."""
        # Hours are float sums of seconds: a span of exactly a quarter hour must not fall short by rounding.
        if n < 2 or last - first < min_span_hours - 1e-9:
            return None
        denominator = n * sxx - sx * sx
        if denominator <= 1e-12:
            return None
        return (n * sxy - sx * sy) / denominator


def min_span(lookback: timedelta) -> float:
    """Reports must span a quarter of the lookback: two readings a minute apart say little about a trend."""
    return lookback / HOUR / 4


def rate_of_rise(samples: Iterable[Sample], now: datetime, lookback: timedelta = DEFAULT_LOOKBACK) -> float | None:
    """m/h over ``(now - lookback, now]`` (negative when falling)."""
    return SlopeSums.of(samples, now, lookback).slope(min_span(lookback))


def margin(value: float | None, level: float | None) -> float | None:
    """How far below ``level`` the water is (negative above it)."""
    if value is None or level is None:
        return None
    return level - value


def storage_pct(storage_mcm: float | None, capacity_mcm: float | None) -> float | None:
    if storage_mcm is None or not capacity_mcm:
        return None
    return 100.0 * storage_mcm / capacity_mcm


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def local_day(when: datetime, zone: tzinfo) -> int:
    """Day number (days since 1970-01-01, local calendar) of the period ending at ``when``."""
    local = (when - timedelta(seconds=1)).astimezone(zone)
    return local.date().toordinal() - EPOCH.date().toordinal()


def day_start(day: int, zone: tzinfo) -> int:
    """Epoch seconds of local midnight starting ``day`` (a day number as :func:`local_day` gives)."""
    local = datetime.combine(date.fromordinal(EPOCH.date().toordinal() + day), time(), tzinfo=zone)
    return (local - EPOCH) // timedelta(seconds=1)


@functools.lru_cache(maxsize=32)
def utc_offsets(zone: tzinfo, start: int, end: int, probe: int = 6 * 3600) -> tuple[tuple[int, int], ...]:
    """The zone's UTC offset in seconds over ``[start, end]`` (epoch seconds) as ``((start, offset), (t, offset
    from t on), ...)``: one pair for a zone without daylight saving, one more per change. Probed every
    ``probe`` seconds (no zone changes twice in six hours), each change found to the second by bisection."""

    def offset(t: int) -> int:
        delta = datetime.fromtimestamp(t, zone).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    out = [(start, offset(start))]
    t = start
    while t < end:
        nxt = min(t + probe, end)
        if offset(nxt) != out[-1][1]:
            lo, hi = t, nxt  # offset(lo) is the old one, offset(hi) the new one
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == out[-1][1] else (lo, mid)
            out.append((hi, offset(hi)))
        t = nxt
    return tuple(out)


def count_dry_days(today: int, last_wet: int | None, first: int | None) -> int | None:
    """Whole dry days before ``today``: since the last wet day, or since data begins; None without data.

    Today counts only once it is wet (then the answer is 0); a day without reports counts as dry,
    because many gauges only report when it rains.
    """
    if first is None:
        return None
    if last_wet is None:
        return max(0, today - first)
    return max(0, today - last_wet - 1)


def daily_totals(samples: Iterable[Sample], zone: tzinfo) -> dict[int, float]:
    totals: dict[int, float] = {}
    for s in samples:
        day = local_day(s.time, zone)
        totals[day] = totals.get(day, 0.0) + s.value
    return totals


def consecutive_dry_days(samples: Iterable[Sample], now: datetime, zone: tzinfo,
                         threshold_mm: float = DEFAULT_DRY_BELOW_MM,
                         horizon_days: int = DEFAULT_DRY_HORIZON_DAYS) -> int | None:
    """Consecutive days with less than ``threshold_mm`` of rain, in the plan's local calendar."""
    today = local_day(now, zone)
    days = {d: t for d, t in daily_totals((s for s in samples if s.time <= now), zone).items()
            if today - horizon_days < d <= today}
    wet = [d for d, total in days.items() if total >= threshold_mm]
    return count_dry_days(today, max(wet, default=None), min(days, default=None))


@dataclass(frozen=True)
class SnapshotSpec:
    """What to derive each cycle; ``rules.snapshot_spec`` builds it from the plan's rules."""

    windows: tuple[timedelta, ...] = DEFAULT_WINDOWS
    lookbacks: tuple[timedelta, ...] = (DEFAULT_LOOKBACK,)
    dry_below_mm: float = DEFAULT_DRY_BELOW_MM
    dry_horizon_days: int = DEFAULT_DRY_HORIZON_DAYS
    zone: tzinfo = UTC


class Latest(NamedTuple):
    """A quantity's latest reading (a tuple: a cycle reads one per station and quantity)."""

    time: datetime
    value: float


NOTHING: Mapping[Any, Any] = MappingProxyType({})
"""The defaults of a snapshot's mappings: one shared, read-only, empty."""


class StationSnapshot(NamedTuple):
    """Everything the rules need about one station this cycle; SQL aggregates fill it for many stations.

    A tuple: quick to make, and a cycle makes one for each station something reads (``SnapshotColumns``)."""

    station: str
    kind: StationKind
    quantity: Quantity
    """The station's main quantity: ``value`` and ``time`` are its latest reading."""
    latest: Mapping[str, Latest] = NOTHING
    """Latest reading per quantity."""
    totals: Mapping[timedelta, float] = NOTHING
    """Rain per window (rain gauges)."""
    rates: Mapping[timedelta, float | None] = NOTHING
    """Rate of rise of the stage per lookback, m/h (river gauges and reservoirs)."""
    margin: float | None = None
    """Warning level minus stage, m."""
    guaranteed_margin: float | None = None
    dry_days: int | None = None
    storage_pct: float | None = None
    stale: bool = True

    @property
    def value(self) -> float | None:
        latest = self.latest.get(self.quantity)
        return latest.value if latest else None

    @property
    def time(self) -> datetime | None:
        latest = self.latest.get(self.quantity)
        return latest.time if latest else None

    @property
    def last_time(self) -> datetime | None:
        """The latest report of any quantity: what staleness is judged on."""
        last: datetime | None = None
        for latest in self.latest.values():  # a loop, not max(): the stale-feed check asks every station
            if last is None or latest.time > last:
                last = latest.time
        return last

    @property
    def rate_of_rise(self) -> float | None:
        return next(iter(self.rates.values()), None)


class Figures(NamedTuple):
    """What a station's latest values give, apart from the windows, rates and dry days: shared by the snapshot of
    one station (``compose_snapshot``) and a cycle's columns of every station (``snapshot_columns``)."""

    latest: Mapping[str, Latest]
    """The latest value of each quantity the station measures."""
    last: datetime | None
    margin: float | None
    guaranteed_margin: float | None
    storage_pct: float | None
    stale: bool


def station_figures(station: Station, now: datetime, latest: Mapping[str, Latest]) -> Figures:
    """The station's figures from its latest values per quantity (a plain tuple: a cycle makes one per station)."""
    measured = station.measured
    kept = latest
    for quantity in latest:
        if quantity not in measured:  # the station no longer measures it (the plan changed): left out
            kept = {q: reading for q, reading in latest.items() if q in measured}
            break
    last: datetime | None = None
    for reading in kept.values():
        if last is None or reading.time > last:
            last = reading.time
    stage = kept.get("stage_m")
    pct = kept.get("storage_pct")
    storage = kept.get("storage_mcm")
    share: float | None = None
    if pct is not None or storage is not None:
        from_volume = storage_pct(storage.value if storage else None, station.capacity)
        # Whichever is newer: a duty officer's "pond at 30 %" or the volume the gauge reports.
        newer_pct = pct is not None and (from_volume is None or storage is None or pct.time >= storage.time)
        share = pct.value if pct is not None and newer_pct else from_volume
    warning = guaranteed = None
    if stage is not None:
        warning = margin(stage.value, station.warning_level)
        guaranteed = margin(stage.value, station.guaranteed_level)
    return Figures(kept, last, warning, guaranteed, share, last is None or now - last > STALE_FACTOR * station.interval)


def compose_snapshot(station: Station, now: datetime, latest: Mapping[str, Latest],
                     totals: Mapping[timedelta, float], rates: Mapping[timedelta, float | None],
                     dry_days: int | None) -> StationSnapshot:
    """Finish a snapshot from per-quantity latest values and the window, rate and dry-day figures.

    The snapshot keeps the mappings it is given rather than copies: callers hand over ones that nothing changes
    afterwards, and may share one between stations.
    """
    figures = station_figures(station, now, latest)
    measured = station.measured
    return StationSnapshot(
        station.id, station.kind, measured[0], figures.latest,
        totals if "rain_mm" in measured else {},
        rates if "stage_m" in measured else {},
        figures.margin,
        figures.guaranteed_margin,
        dry_days if "rain_mm" in measured else None,
        figures.storage_pct,
        figures.stale,
    )


def build_snapshot(station: Station, samples: Iterable[ReadingLike], now: datetime,
                   spec: SnapshotSpec = SnapshotSpec()) -> StationSnapshot:
    """The snapshot of one station from its readings, in plain Python (tests, manual checks)."""
    by_quantity: dict[str, list[ReadingLike]] = {}
    for s in samples:
        if s.station == station.id and s.time <= now:
            by_quantity.setdefault(s.quantity, []).append(s)
    newest = {q: max(rs, key=lambda r: r.time) for q, rs in by_quantity.items()}
    latest = {q: Latest(r.time, r.value) for q, r in newest.items()}
    rain = by_quantity.get("rain_mm", [])
    stage = by_quantity.get("stage_m", [])
    return compose_snapshot(
        station, now, latest,
        window_totals(rain, now, spec.windows),
        {lb: rate_of_rise(stage, now, lb) for lb in spec.lookbacks},
        consecutive_dry_days(rain, now, spec.zone, spec.dry_below_mm, spec.dry_horizon_days),
    )
