"""Where things are: WGS 84 points, rings, circles and area codes, as plan configuration.

One model for every use (the public CAP warning's areas, a map of stations and evacuation zones):
points are ``[latitude, longitude]`` in decimal degrees, the order CAP and most people write them
in. This module imports nothing from ``plan.py`` (which imports it), so it has its own strict base.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


def _point(value: object) -> object:
    """``[lat, lon]`` with a hint when the two are swapped (a longitude is not a latitude)."""
    if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, int | float) for v in value):
        lat, lon = value
        if not -90 <= lat <= 90:
            swapped = " (latitude first: write [lat, lon])" if -90 <= lon <= 90 else ""
            raise ValueError(f"latitude {lat} is outside -90..90{swapped}")
        if not -180 <= lon <= 180:
            raise ValueError(f"longitude {lon} is outside -180..180")
    elif not (isinstance(value, list | tuple) and len(value) == 2):
        raise ValueError("a point is [latitude, longitude], e.g. [29.98, 108.09]")
    return value


LatLon = Annotated[tuple[float, float], BeforeValidator(_point)]
"""A WGS 84 point, latitude then longitude, in decimal degrees."""


def _ring(value: object) -> object:
    """A closed ring: at least three distinct corners, closed by repeating the first (added if left out)."""
    if not isinstance(value, list | tuple):
        raise ValueError("a polygon is a list of [latitude, longitude] corners")
    points = [tuple(p) if isinstance(p, list | tuple) else p for p in value]
    corners = points[:-1] if len(points) > 1 and points[0] == points[-1] else points
    if len(set(map(_hashable, corners))) < 3:
        raise ValueError(f"a polygon needs at least 3 distinct corners (found {len(set(map(_hashable, corners)))})")
    return [*corners, corners[0]]


def _hashable(point: object) -> object:
    return tuple(point) if isinstance(point, list | tuple) else point


Ring = Annotated[list[LatLon], BeforeValidator(_ring)]
"""A polygon's outline, always closed (first point == last point), at least 4 points with the closing one."""


class Circle(_Strict):
    centre: LatLon
    radius_km: Annotated[float, Field(gt=0, le=1000)]


class Geometry(_Strict):
    """An area on the map: an outline, a circle, administrative codes, or any of them together."""

    polygon: Ring | None = None
    circle: Circle | None = None
    codes: dict[Annotated[str, Field(min_length=1, max_length=60)], Annotated[str, Field(min_length=1)]] = {}
    """Area codes by scheme, e.g. {"GB/T 2260": "500240"} (the administrative division code)."""

    @model_validator(mode="after")
    def _something(self) -> Geometry:
        if self.polygon is None and self.circle is None and not self.codes:
            raise ValueError("give a polygon, a circle or codes (an area code such as the administrative "
                             "division code)")
        return self

    @property
    def has_shape(self) -> bool:
        return self.polygon is not None or self.circle is not None
