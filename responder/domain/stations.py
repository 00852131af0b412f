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

from responder.domain import units
from responder.domain.entry import PlanText
from responder.domain.geometry import LatLon
from responder.domain.types import Duration, within
from responder.domain.units import Dimension

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=40)]
StationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", max_length=64)]
LocalText = dict[Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")], PlanText]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


Quantity = Literal["rain_mm", "stage_m", "flow_m3s", "inflow_m3s", "outflow_m3s", "storage_mcm", "storage_pct",
                   "dam_break"]
"""What a reading measures. ``rain_mm`` is rain fallen in the period ending at the reading's time;
``stage_m`` is a river stage or reservoir water level; ``dam_break`` is a 0/1 flag from a station or a person."""
QUANTITIES: tuple[Quantity, ...] = get_args(Quantity)

StationKind = Literal["rain", "river", "reservoir"]
SitePlace = Literal["feature_of_interest", "identifier", "monitoring_point_name", "sampled_feature", "observation_id"]
"""Where WaterML documents carry a site id: ``om:featureOfInterest`` (its link, title and ``gml:id``),
``gml:identifier`` (of the monitoring point, else of the enclosing collection), the ``wml2:MonitoringPoint``'s
``gml:name``, ``sams:sampledFeature``, and the ``om:OM_Observation``'s (or series') ``gml:id``."""
SITE_PLACES: tuple[SitePlace, ...] = get_args(SitePlace)
FeedKind = Literal["csv", "usgs", "waterml2", "sl323", "manual"]

CANONICAL_UNIT: dict[Quantity, str] = {
    "rain_mm": "mm", "stage_m": "m", "flow_m3s": "m3/s", "inflow_m3s": "m3/s", "outflow_m3s": "m3/s",
    "storage_mcm": "10^6 m3", "storage_pct": "%", "dam_break": "flag",
}
"""Every reading is stored in these units, whatever unit its feed used."""

_DIMENSION: dict[Quantity, Dimension] = {
    "rain_mm": "length", "stage_m": "length", "flow_m3s": "flow", "inflow_m3s": "flow", "outflow_m3s": "flow",
    "storage_mcm": "volume", "storage_pct": "share", "dam_break": "flag",
}
"""Each quantity's dimension: its units and their sizes are in :mod:`responder.domain.units`."""


def convert(value: float, unit: str, quantity: Quantity) -> float:
    """``value`` in ``unit`` expressed in the quantity's canonical unit (e.g. 1 in of rain → 25.4 mm).

    Raises ValueError when the unit does not measure that quantity (a "wrong unit").
    """
    size, base = unit_scale(unit, quantity)
    return value if size == base else value * size / base


def unit_scale(unit: str, quantity: Quantity) -> tuple[float, float]:
    """The unit's size and the canonical unit's size in their dimension's base unit (see :func:`convert`)."""
    dimension = _DIMENSION[quantity]
    found = units.size(unit, dimension)
    if found is None:
        raise ValueError(f"wrong unit {unit!r} for {quantity} (expected {CANONICAL_UNIT[quantity]} "
                         f"or one of {', '.join(units.known(dimension))})")
    base = units.size(CANONICAL_UNIT[quantity], dimension)
    assert base is not None
    return found, base


DEFAULT_BOUNDS: dict[Quantity, tuple[float, float]] = {
    "rain_mm": (0.0, 500.0),
    "stage_m": (-100.0, 6000.0),
    "flow_m3s": (0.0, 300_000.0),
    "inflow_m3s": (0.0, 300_000.0),
    "outflow_m3s": (0.0, 300_000.0),
    "storage_mcm": (0.0, 100_000.0),
    "storage_pct": (0.0, 100.0),
    "dam_break": (0.0, 1.0),
}
"""Physically possible values per reading in canonical units: a world-record hour of rain is ~300 mm, the
largest river ~300,000 m3/s; a storage share is of the capacity. A station narrows them with ``bounds`` (e.g.
its gauge's datum range), or widens one it knows better (a reservoir whose capacity is its normal pool: 130 %)."""

DEFAULT_QUANTITIES: dict[StationKind, tuple[Quantity, ...]] = {
    "rain": ("rain_mm",),
    "river": ("stage_m", "flow_m3s", "dam_break"),
    "reservoir": ("stage_m", "storage_mcm", "storage_pct", "inflow_m3s", "outflow_m3s", "dam_break"),
}


def known_zone(value: str | None) -> str | None:
    """An IANA zone name, checked (None passes)."""
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Asia/Shanghai)") from exc
    return value


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
    interval: Annotated[Duration, within("1m", "7d")] = timedelta(hours=1)
    """Expected reporting interval; silent for twice this long means stale."""
    bounds: dict[Quantity, Bounds] = {}
    location: LatLon | None = None
    """Where the gauge stands, [latitude, longitude] in WGS 84 (for maps)."""
    timezone: str | None = None
    """Zone of this station's times written without an offset (a county feed spanning zones, a USGS daily
    value, which is a local date); the feed's zone, then the plan's, when unset."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return known_zone(value)

    @property
    def zone(self) -> ZoneInfo | None:
        return ZoneInfo(self.timezone) if self.timezone else None

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
    interval: Annotated[Duration, within("10s", "7d")] = timedelta(minutes=10)
    """How often it is polled."""
    timeout: Annotated[Duration, within("1s", "10m")] = timedelta(seconds=10)
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    timezone: str | None = None
    """Zone of times written without an offset (CSV, SL 323 TM); the plan's zone when unset."""
    encoding: str = "utf-8"
    parameters: dict[str, Parameter] = {}
    """Feed parameter code → quantity, e.g. {"00045": rain_mm}; USGS codes are known already."""
    lookback: Annotated[Duration, within("1m", "366d")] = timedelta(days=1)
    """How far back a database feed reads when the caller gives no ``since``."""
    unknown_stations: Literal["quarantine", "ignore"] = "quarantine"
    """A feed shared by a whole county names many stations that are not ours: ignore them or quarantine them."""
    site_id_from: list[SitePlace] = []
    """WaterML: where a series' site id is looked for, in this order (all of SITE_PLACES when empty); a
    station matches when its ``source_id`` is one of the ids found there, whole or as a token (USGS.01646500)."""

    @field_validator("site_id_from")
    @classmethod
    def _once_each(cls, value: list[SitePlace]) -> list[SitePlace]:
        if len(set(value)) != len(value):
            raise ValueError("a place is listed twice")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return known_zone(value)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError as exc:
            raise ValueError(f"unknown text encoding {value!r} (e.g. utf-8, gbk)") from exc
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
