"""One validated reading, or a rejected row with its reason: what every feed reader produces.

Validation is the same for every feed, so a CSV row, a USGS value and a number typed in by duty staff
are held to the same rules: known station, a finite number in a unit that measures the quantity,
within physical bounds, and not from the future.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from responder.domain.stations import CANONICAL_UNIT, QUANTITIES, Quantity, Station, convert

DEFAULT_SKEW = timedelta(minutes=5)
"""How far ahead of our clock a reading's time may be (the feed's clock may run a little fast)."""


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
    return when.astimezone(UTC).replace(microsecond=0)


def parse_value(value: float | int | str) -> float:
    """A finite number; text like "", "Ice", "1,2" or "NaN" is refused with the reason."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = value.strip()
        if not text:
            raise ValueError("no value")
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def validate(raw: RawReading, stations: Mapping[str, Station], now: datetime, *, zone: tzinfo = UTC,
             max_skew: timedelta = DEFAULT_SKEW, source: str | None = None) -> Reading | Rejected:
    """Check one row against the stations (keyed by their id in the row's feed) at time ``now``."""
    station = stations.get(raw.source_id)

    def reject(reason: str) -> Rejected:
        return Rejected(raw.raw or _describe(raw), reason, raw.feed, station.id if station else None, raw.location)

    if station is None:
        return reject(f"unknown station {raw.source_id!r}")
    quantity = raw.quantity.strip() if raw.quantity else station.primary
    if quantity not in QUANTITIES:
        return reject(f"unknown quantity {quantity!r} (known: {', '.join(QUANTITIES)})")
    q = quantity
    if not station.measures(q):
        return reject(f"station {station.id} does not measure {q} (it measures {', '.join(station.measured)})")
    if raw.value is None:
        return reject("no value")
    if raw.time is None:
        return reject("no time")
    try:
        number = parse_value(raw.value)
        value = convert(number, raw.unit.strip() if raw.unit else station.unit_for(q), q)
        when = parse_time(raw.time, zone)
    except ValueError as exc:
        return reject(str(exc))
    bounds = station.bounds_for(q)
    if value not in bounds:
        return reject(f"{value:g} {CANONICAL_UNIT[q]} is outside the physical bounds "
                      f"[{bounds.min:g}, {bounds.max:g}] of {q} at {station.id}")
    if when > now + max_skew:
        return reject(f"time {when.isoformat()} is in the future")
    return Reading(station.id, when, q, value, CANONICAL_UNIT[q], source or raw.feed)


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
