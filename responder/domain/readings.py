"""One validated reading, or a rejected row with its reason: what every feed reader produces.

Validation is the same for every feed, so a CSV row, a USGS value and a number typed in by duty staff
are held to the same rules: known station, a finite number in a unit that measures the quantity,
within physical bounds, and not from the future.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import NamedTuple

from responder.domain.entry import parse_number
from responder.domain.errors import InputError, Problem
from responder.domain.stations import CANONICAL_UNIT, QUANTITIES, Quantity, Station, unit_scale

DEFAULT_SKEW = timedelta(minutes=5)
"""How far ahead of our clock a reading's time may be (the feed's clock may run a little fast)."""
MAX_AGE = timedelta(days=3660)
"""How far back a reading's time may be: older is a typo (1927 for 2027) or a feed replaying its archive."""


@dataclass(frozen=True, slots=True)
class Reading:
    """A value in canonical units at an aware UTC time, whole seconds."""

    station: str
    time: datetime
    quantity: Quantity
    value: float
    unit: str
    source: str
    """The feed it came from (``manual:<who>`` for duty staff)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row that was quarantined instead of stored; the cycle goes on."""

    raw: str
    reason: str
    feed: str
    station: str | None = None
    location: str | None = None
    """Line, element or table and key, so that a person can find the row at its source."""


@dataclass(frozen=True, slots=True)
class RawReading:
    """A row as a reader found it, before validation."""

    feed: str
    source_id: str
    """The station as the feed names it."""
    time: datetime | date | str | None
    value: float | int | str | None
    quantity: str | None = None
    """None means the station's main quantity."""
    unit: str | None = None
    """None means the unit the station's configuration gives."""
    raw: str = ""
    location: str | None = None


def parse_time(value: datetime | date | str, zone: tzinfo) -> datetime:
    """An ISO 8601 time (``2027-07-01 08:00``, ``...T08:00:00+08:00``, ``2027/07/01``); naive means ``zone``.

    Returned as aware UTC without microseconds (readings are stored to the second).
    """
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, date):
        when = datetime(value.year, value.month, value.day, tzinfo=zone)
    else:
        text = value.strip().replace("/", "-")
        if not text:
            raise ValueError("no time")
        try:
            when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise ValueError(f"{value!r} is not a time (write e.g. 2027-07-01 08:00)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    try:
        return when.astimezone(UTC).replace(microsecond=0)
    except OverflowError:  # year 1 or 9999 moved across an offset
        raise ValueError(f"{value!r} is out of range") from None


def parse_value(value: float | int | str) -> float:
    """A finite number; text in the one grammar of :func:`~responder.domain.entry.parse_number`, so
    "", "Ice", "1,2", "1_5", "١٥" or "NaN" are refused with the reason."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int):
        if abs(value) > 10**15:
            raise ValueError(f"{value} is too large")
        number = float(value)
    elif isinstance(value, float):
        number = value
    else:
        number = parse_number(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


REPORT_BOUNDS = {"dam_break": (0.0, 1.0), "drinking_water": (0.0, 10_000_000.0)}
"""A dam-break report is a flag; people short of drinking water are counted (a county is a few million)."""


def report_value(kind: str, value: float | str) -> float:
    """The value of a person's report, in the one number grammar and its kind's range; InputError if not."""
    try:
        number = parse_value(value)
    except ValueError as exc:
        raise InputError(Problem(str(exc), field="--value")) from None
    low, high = REPORT_BOUNDS[kind]
    if not low <= number <= high or (kind == "drinking_water" and number != int(number)):
        what = "0 or 1" if kind == "dam_break" else f"a whole number of people up to {high:,.0f}"
        raise InputError(Problem(f"{number:g} is not {what}", field="--value"))
    return number


def epoch_seconds(when: datetime) -> int:
    """Whole seconds since 1970 UTC: how reading times are keyed and stored."""
    return math.floor(when.timestamp())


class Series(NamedTuple):
    """Readings of one station and quantity as two columns (canonical unit, one source).

    Bulk sources (a drill's generated gauges) hand these over instead of one object per reading: at a
    million readings the objects alone cost seconds. Validated by :func:`validate_series`. A named tuple:
    a drill makes one per gauge per feed check, and a frozen dataclass takes several times longer to build.
    """

    station: str
    quantity: Quantity
    unit: str
    source: str
    times: Sequence[int]
    """Whole seconds since 1970 UTC."""
    values: Sequence[float]

    def readings(self) -> list[Reading]:
        return [Reading(self.station, datetime.fromtimestamp(t, UTC), self.quantity, v, self.unit, self.source)
                for t, v in zip(self.times, self.values, strict=True)]


@dataclass(frozen=True, slots=True)
class _Expect:
    """What a station accepts for one quantity given in one unit: worked out once, then checked per value."""

    station: str
    quantity: Quantity
    size: float
    base: float
    low: float
    high: float

    def canonical(self, number: float) -> float:
        return number if self.size == self.base else number * self.size / self.base


def _expect(station: Station, quantity_given: str | None, unit_given: str | None) -> _Expect | str:
    """The station's side of validation, or why nothing it sends for that quantity and unit can be stored."""
    quantity = quantity_given.strip() if quantity_given else station.primary
    if quantity not in QUANTITIES:
        return f"unknown quantity {quantity!r} (known: {', '.join(QUANTITIES)})"
    q: Quantity = quantity
    if not station.measures(q):
        return f"station {station.id} does not measure {q} (it measures {', '.join(station.measured)})"
    unit = unit_given.strip() if unit_given else station.unit_for(q)
    try:
        size, base = unit_scale(unit, q)
    except ValueError as exc:
        return str(exc)
    bounds = station.bounds_for(q)
    return _Expect(station.id, q, size, base, bounds.min, bounds.max)


def _out_of_bounds(expect: _Expect, value: float) -> str:
    return (f"{value:g} {CANONICAL_UNIT[expect.quantity]} is outside the physical bounds "
            f"[{expect.low:g}, {expect.high:g}] of {expect.quantity} at {expect.station}")


def validate(raw: RawReading, stations: Mapping[str, Station], now: datetime, *, zone: tzinfo = UTC,
             max_skew: timedelta = DEFAULT_SKEW, source: str | None = None) -> Reading | Rejected:
    """Check one row against the stations (keyed by their id in the row's feed) at time ``now``."""
    station = stations.get(raw.source_id)

    def reject(reason: str) -> Rejected:
        return Rejected(raw.raw or _describe(raw), reason, raw.feed, station.id if station else None, raw.location)

    if station is None:
        return reject(f"unknown station {raw.source_id!r}")
    expect = _expect(station, raw.quantity, raw.unit)
    if isinstance(expect, str):
        return reject(expect)
    if raw.value is None:
        return reject("no value")
    if raw.time is None:
        return reject("no time")
    try:
        value = expect.canonical(parse_value(raw.value))
        when = parse_time(raw.time, zone)
    except ValueError as exc:
        return reject(str(exc))
    if not expect.low <= value <= expect.high:
        return reject(_out_of_bounds(expect, value))
    if when > now + max_skew:
        return reject(f"time {when.isoformat()} is in the future")
    if when < now - MAX_AGE:
        return reject(f"time {when.isoformat()} is more than {MAX_AGE.days // 366} years ago (a typo in the year?)")
    return Reading(station.id, when, expect.quantity, value, CANONICAL_UNIT[expect.quantity], source or raw.feed)


def validate_series(feed: str, source_id: str, times: Sequence[int], values: Sequence[float],
                    stations: Mapping[str, Station], now: datetime, *, quantity: str | None = None,
                    unit: str | None = None, max_skew: timedelta = DEFAULT_SKEW,
                    source: str | None = None) -> tuple[Series | None, list[Rejected]]:
    """Many numbers of one station: the same checks as :func:`validate`, the station's side done once.

    When every value passes (the usual case) the series is checked with a few passes over plain lists;
    otherwise each value is checked on its own and only the bad ones are rejected.
    """
    station = stations.get(source_id)
    expect = None if station is None else _expect(station, quantity, unit)
    latest = epoch_seconds(now + max_skew)
    earliest = epoch_seconds(now - MAX_AGE)
    if isinstance(expect, _Expect):
        canonical = list(values) if expect.size == expect.base else [expect.canonical(v) for v in values]
        if not canonical or (all(map(math.isfinite, canonical)) and expect.low <= min(canonical)
                             and max(canonical) <= expect.high and max(times) <= latest
                             and min(times) >= earliest):
            return Series(expect.station, expect.quantity, CANONICAL_UNIT[expect.quantity], source or feed,
                          list(times), canonical), []
    kept: list[tuple[int, float]] = []
    rejected: list[Rejected] = []
    for t, v in zip(times, values, strict=True):
        when = datetime.fromtimestamp(t, UTC)
        checked = validate(RawReading(feed, source_id, when, v, quantity, unit, location=when.isoformat()),
                           stations, now, max_skew=max_skew, source=source)
        if isinstance(checked, Reading):
            kept.append((t, checked.value))
        else:
            rejected.append(checked)
    if not kept:
        return None, rejected
    assert isinstance(expect, _Expect)
    return Series(expect.station, expect.quantity, CANONICAL_UNIT[expect.quantity], source or feed,
                  [t for t, _ in kept], [v for _, v in kept]), rejected


def manual_reading(station_id: str, value: float | str, stations: Iterable[Station], now: datetime, *,
                   by: str, time: datetime | str | None = None, quantity: str | None = None,
                   unit: str | None = None, zone: tzinfo = UTC) -> Reading | Rejected:
    """A value typed in by duty staff (``reading add STATION VALUE [--time T]``): any station, any feed."""
    raw = RawReading("manual", station_id, now if time is None else time, value, quantity, unit,
                     location=f"entered by {by}")
    return validate(raw, {s.id: s for s in stations}, now, zone=zone, source=f"manual:{by}")


def _describe(raw: RawReading) -> str:
    parts = [raw.source_id, str(raw.time), str(raw.value)]
    parts += [p for p in (raw.quantity, raw.unit) if p]
    return ",".join(parts)
