"""Gauges and the feeds they come from, as plan configuration, with the units they report in.

``plan.py`` imports this module, so this module cannot import ``plan.py`` back: it declares its own
strict base and the same id and language patterns as the plan.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Iterable
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from responder.domain.geometry import LatLon
from responder.domain.types import Duration

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=40)]
StationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", max_length=64)]
LocalText = dict[Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")], str]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Quantity = Literal["rain_mm", "stage_m", "flow_m3s", "inflow_m3s", "outflow_m3s", "storage_mcm", "storage_pct",
                   "dam_break"]
"""What a reading measures. ``rain_mm`` is rain fallen in the period ending at the reading's time;
``stage_m`` is a river stage or reservoir water level; ``dam_break`` is a 0/1 flag from a station or a person."""
QUANTITIES: tuple[Quantity, ...] = get_args(Quantity)

StationKind = Literal["rain", "river", "reservoir"]
FeedKind = Literal["csv", "usgs", "waterml2", "sl323", "manual"]

CANONICAL_UNIT: dict[Quantity, str] = {
    "rain_mm": "mm", "stage_m": "m", "flow_m3s": "m3/s", "inflow_m3s": "m3/s", "outflow_m3s": "m3/s",
    "storage_mcm": "10^6 m3", "storage_pct": "%", "dam_break": "flag",
}
"""Every reading is stored in these units, whatever unit its feed used."""

_LENGTH = {"mm": 0.001, "cm": 0.01, "m": 1.0, "in": 0.0254, "ft": 0.3048}
_FLOW = {"m3/s": 1.0, "l/s": 0.001, "ft3/s": 0.028316846592, "cfs": 0.028316846592}
_VOLUME = {"10^6m3": 1e6, "1e6m3": 1e6, "mcm": 1e6, "m3": 1.0, "万m3": 1e4, "亿m3": 1e8,
           "acre-ft": 1233.48183754752, "ac-ft": 1233.48183754752}
_SHARE = {"%": 1.0, "percent": 1.0}
_FLAG = {"flag": 1.0}
_DIMENSION: dict[Quantity, dict[str, float]] = {
    "rain_mm": _LENGTH, "stage_m": _LENGTH, "flow_m3s": _FLOW, "inflow_m3s": _FLOW, "outflow_m3s": _FLOW,
    "storage_mcm": _VOLUME, "storage_pct": _SHARE, "dam_break": _FLAG,
}
"""Size of each unit in the dimension's base unit (m, m3/s, m3, %): conversions are explicit, never guessed."""


def _unit_key(unit: str) -> str:
    key = "".join(unit.split()).lower().replace("³", "3").replace("^3", "3")
    return "10^6m3" if key in ("10^6m3", "10⁶m3") else key


def convert(value: float, unit: str, quantity: Quantity) -> float:
    """``value`` in ``unit`` expressed in the quantity's canonical unit (e.g. 1 in of rain → 25.4 mm).

    Raises ValueError when the unit does not measure that quantity (a "wrong unit").
    """
    size, base = unit_scale(unit, quantity)
    return value if size == base else value * size / base


def unit_scale(unit: str, quantity: Quantity) -> tuple[float, float]:
    """The unit's size and the canonical unit's size in their dimension's base unit (see :func:`convert`)."""
    sizes = _DIMENSION[quantity]
    size = sizes.get(_unit_key(unit))
    if size is None:
        raise ValueError(f"wrong unit {unit!r} for {quantity} (expected {CANONICAL_UNIT[quantity]} "
                         f"or one of {', '.join(sorted(sizes))})")
    return size, sizes[_unit_key(CANONICAL_UNIT[quantity])]


DEFAULT_BOUNDS: dict[Quantity, tuple[float, float]] = {
    "rain_mm": (0.0, 500.0),
    "stage_m": (-100.0, 6000.0),
    "flow_m3s": (0.0, 300_000.0),
    "inflow_m3s": (0.0, 300_000.0),
    "outflow_m3s": (0.0, 300_000.0),
    "storage_mcm": (0.0, 100_000.0),
    "storage_pct": (0.0, 200.0),
    "dam_break": (0.0, 1.0),
}
"""Physically possible values per reading in canonical units: a world-record hour of rain is ~300 mm, the
largest river ~300,000 m3/s. A station narrows them with ``bounds`` (e.g. its gauge's datum range)."""

DEFAULT_QUANTITIES: dict[StationKind, tuple[Quantity, ...]] = {
    "rain": ("rain_mm",),
    "river": ("stage_m", "flow_m3s", "dam_break"),
    "reservoir": ("stage_m", "storage_mcm", "storage_pct", "inflow_m3s", "outflow_m3s", "dam_break"),
}


class Bounds(Strict):
    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if not (math.isfinite(self.min) and math.isfinite(self.max) and self.min < self.max):
            raise ValueError(f"bounds need min < max (got {self.min}, {self.max})")
        return self

    def __contains__(self, value: float) -> bool:
        return self.min <= value <= self.max


class Station(Strict):
    """A rain gauge, river gauge or reservoir, with the levels the plan's rules compare against."""

    id: StationId
    name: LocalText
    kind: StationKind
    feed: Slug | None = None
    """The feed it is polled from; None for a station only duty staff report on."""
    source_id: str | None = None
    """Its id in the feed (a USGS site number, an SL 323 STCD); the station id when unset."""
    quantities: list[Quantity] = []
    """What it measures, the main quantity first; by kind when unset (rain: rain_mm; river: stage_m, ...)."""
    unit: str | None = None
    """The unit its feed uses for the main quantity when the feed does not say (CSV); canonical when unset."""
    warning_level: float | None = None
    """警戒水位, m, same datum as the stage readings."""
    guaranteed_level: float | None = None
    """保证水位, m."""
    capacity: Annotated[float, Field(gt=0)] | None = None
    """Reservoir or pond capacity in 10^6 m3, for storage %."""
    interval: Duration = timedelta(hours=1)
    """Expected reporting interval; silent for twice this long means stale."""
    bounds: dict[Quantity, Bounds] = {}
    location: LatLon | None = None
    """Where the gauge stands, [latitude, longitude] in WGS 84 (for maps)."""

    @field_validator("interval")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("the reporting interval must be longer than 0")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Station:
        if self.kind == "rain" and (self.warning_level is not None or self.guaranteed_level is not None):
            raise ValueError("a rain gauge has no warning or guaranteed water level")
        if self.capacity is not None and self.kind != "reservoir":
            raise ValueError("only a reservoir has a capacity")
        if (self.warning_level is not None and self.guaranteed_level is not None
                and self.guaranteed_level < self.warning_level):
            raise ValueError("the guaranteed level (保证水位) cannot be below the warning level (警戒水位)")
        if len(set(self.quantities)) != len(self.quantities):
            raise ValueError("a quantity is listed twice")
        if self.unit is not None:
            convert(1.0, self.unit, self.primary)
        return self

    @property
    def source(self) -> str:
        return self.source_id or self.id

    @cached_property
    def measured(self) -> tuple[Quantity, ...]:
        return tuple(self.quantities) or DEFAULT_QUANTITIES[self.kind]

    @property
    def primary(self) -> Quantity:
        return self.measured[0]

    def measures(self, quantity: str) -> bool:
        return quantity in self.measured

    def unit_for(self, quantity: Quantity) -> str:
        """The unit to assume for ``quantity`` when a feed gives none."""
        if quantity == self.primary and self.unit:
            return self.unit
        return CANONICAL_UNIT[quantity]

    def bounds_for(self, quantity: Quantity) -> Bounds:
        if quantity in self.bounds:
            return self.bounds[quantity]
        low, high = DEFAULT_BOUNDS[quantity]
        return Bounds(min=low, max=high)


class ParameterMap(Strict):
    """Which quantity a feed's parameter code is, and its unit when the feed does not say it right."""

    quantity: Quantity
    unit: str | None = None

    @model_validator(mode="after")
    def _unit_fits(self) -> ParameterMap:
        if self.unit is not None:
            convert(1.0, self.unit, self.quantity)
        return self


def _parameter(value: Any) -> Any:
    return {"quantity": value} if isinstance(value, str) else value


Parameter = Annotated[ParameterMap, BeforeValidator(_parameter)]

USGS_PARAMETERS: dict[str, ParameterMap] = {
    "00045": ParameterMap(quantity="rain_mm"),      # precipitation, inches
    "00065": ParameterMap(quantity="stage_m"),      # gage height, feet
    "00062": ParameterMap(quantity="stage_m"),      # reservoir elevation, feet
    "00060": ParameterMap(quantity="flow_m3s"),     # discharge, ft3/s
    "00054": ParameterMap(quantity="storage_mcm"),  # reservoir storage, acre-feet
}
"""USGS parameter codes; their units (in, ft, ft3/s, acre-ft) come with the data and are converted."""

SL323_COLUMNS: dict[str, dict[str, Quantity]] = {
    "ST_PPTN_R": {"DRP": "rain_mm"},
    "ST_RIVER_R": {"Z": "stage_m", "Q": "flow_m3s"},
    "ST_RSVR_R": {"RZ": "stage_m", "INQ": "inflow_m3s", "W": "storage_mcm", "OTQ": "outflow_m3s"},
}
"""SL 323 real-time tables and the columns read: DRP period rain (mm), Z stage (m), Q flow (m3/s),
RZ reservoir level (m), INQ/OTQ inflow/outflow (m3/s), W storage (10^6 m3)."""

SL323_TABLE: dict[StationKind, str] = {"rain": "ST_PPTN_R", "river": "ST_RIVER_R", "reservoir": "ST_RSVR_R"}


class Feed(Strict):
    """Where readings come from and how to poll it."""

    id: Slug
    name: LocalText = {}
    kind: FeedKind
    url: str | None = None
    """http(s) URL (csv, usgs, waterml2)."""
    path: str | None = None
    """Local file (csv, usgs, waterml2), relative to the working folder."""
    database_url: str | None = None
    """SQLAlchemy URL of an SL 323 database."""
    database_schema: str | None = None
    interval: Duration = timedelta(minutes=10)
    """How often it is polled."""
    timeout: Duration = timedelta(seconds=10)
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    timezone: str | None = None
    """Zone of times written without an offset (CSV, SL 323 TM); the plan's zone when unset."""
    encoding: str = "utf-8"
    parameters: dict[str, Parameter] = {}
    """Feed parameter code → quantity, e.g. {"00045": rain_mm}; USGS codes are known already."""
    lookback: Duration = timedelta(days=1)
    """How far back a database feed reads when the caller gives no ``since``."""
    unknown_stations: Literal["quarantine", "ignore"] = "quarantine"
    """A feed shared by a whole county names many stations that are not ours: ignore them or quarantine them."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r} (use an IANA name like Asia/Shanghai)") from exc
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError as exc:
            raise ValueError(f"unknown text encoding {value!r} (e.g. utf-8, gbk)") from exc
        return value

    @field_validator("timeout", "interval")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than 0")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Feed:
        given = [name for name in ("url", "path", "database_url") if getattr(self, name)]
        wanted = {"csv": {"url", "path"}, "usgs": {"url", "path"}, "waterml2": {"url", "path"},
                  "sl323": {"database_url"}, "manual": set()}[self.kind]
        if not wanted:
            if given:
                raise ValueError("a manual feed is typed in by duty staff: give no url, path or database_url")
        elif len(given) != 1 or given[0] not in wanted:
            raise ValueError(f"a {self.kind} feed needs exactly one of {' or '.join(sorted(wanted))}")
        if self.url and not self.url.lower().startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https:// (use path for a local file)")
        return self

    @property
    def zone(self) -> ZoneInfo | None:
        return ZoneInfo(self.timezone) if self.timezone else None

    @property
    def location(self) -> str:
        return self.url or self.path or self.database_url or "manual"

    def parameter_map(self) -> dict[str, ParameterMap]:
        """Known codes for the feed's kind, overridden and extended by ``parameters``."""
        known = USGS_PARAMETERS if self.kind in ("usgs", "waterml2") else {}
        return {**known, **self.parameters}


def stations_of(stations: Iterable[Station], feed_id: str) -> dict[str, tuple[Station, ...]]:
    """The stations polled from ``feed_id``, keyed by their id in that feed.

    One site may serve two stations (a USGS site with a rain gauge and a river gauge): they then share
    the id and measure different quantities.
    """
    found: dict[str, tuple[Station, ...]] = {}
    for s in stations:
        if s.feed == feed_id:
            found[s.source] = (*found.get(s.source, ()), s)
    return found


def station_for(candidates: Iterable[Station], quantity: str | None) -> Station | None:
    """Which of the stations sharing a feed id a row of ``quantity`` (None: the main one) belongs to."""
    candidates = list(candidates)
    if quantity is None:
        return candidates[0] if candidates else None
    return next((s for s in candidates if s.measures(quantity)), candidates[0] if candidates else None)
