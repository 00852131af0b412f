"""Small drawings made on the server: a station's last day as a line, and a schematic map from the plan's
coordinates (stations and evacuation zones, no tiles). Plain SVG markup, so the board needs no script for them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from markupsafe import Markup, escape

from responder.domain.plan import EvacuationZone
from responder.domain.stations import Station

Point = tuple[float, float]


def chart(series: Sequence[tuple[int, float]], now: datetime, span: timedelta, level: float | None = None,
          width: int = 240, height: int = 48, bars: bool = False) -> Markup:
    """The readings (epoch seconds, value) of the last ``span`` (rain as bars, stage as a line), with ``level`` as a
    dashed red line."""
    if not series:
        return Markup(f'<svg class="chart" width="{width}" height="{height}" role="img" aria-label="no readings">'
                      f'<rect width="{width}" height="{height}" class="empty"/></svg>')
    values = [v for _, v in series] + ([level] if level is not None else [])
    low = 0.0 if bars else min(values)
    high = max(values)
    if high - low < 1e-9:
        high = low + 1.0
    seconds = span.total_seconds()
    start = now.timestamp() - seconds

    def x(at: int) -> float:
        return round((at - start) / seconds * width, 1)

    def y(value: float) -> float:
        return round(height - 2 - (value - low) / (high - low) * (height - 4), 1)

    parts = [f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">',
             f'<rect width="{width}" height="{height}" class="frame"/>']
    if bars:
        parts += [f'<rect x="{x(at) - 2}" y="{y(v)}" width="3" height="{round(height - 2 - y(v), 1)}" class="bar"/>'
                  for at, v in series]
    else:
        points = " ".join(f"{x(at)},{y(v)}" for at, v in series)
        parts.append(f'<polyline points="{points}" class="line"/>')
    if level is not None:
        parts.append(f'<line x1="0" x2="{width}" y1="{y(level)}" y2="{y(level)}" class="threshold"/>')
    parts.append(f'<text x="2" y="10" class="label">{high:g}</text></svg>')
    return Markup("".join(parts))


def _circle_ring(centre: Point, radius_km: float, corners: int = 24) -> list[Point]:
    lat, lon = centre
    dlat = radius_km / 111.0
    dlon = radius_km / (111.0 * max(0.01, math.cos(math.radians(lat))))
    return [(lat + dlat * math.sin(2 * math.pi * i / corners), lon + dlon * math.cos(2 * math.pi * i / corners))
            for i in range(corners)]


def area_map(stations: Sequence[tuple[Station, str, str]], zones: Sequence[tuple[EvacuationZone, str]],
             width: int = 640, height: int = 420) -> Markup:
    """Stations (with a label and a state class: ok, over, stale) and zones (named by id, their stretch on hover)
    on one schematic,
    north up, scaled so that a kilometre is as long east-west as north-south."""
    shapes: list[tuple[EvacuationZone, str, list[Point]]] = []
    for zone, label in zones:
        geometry = zone.geometry
        if geometry is None:
            continue
        if geometry.polygon is not None:
            shapes.append((zone, label, [(p[0], p[1]) for p in geometry.polygon]))
        elif geometry.circle is not None:
            shapes.append((zone, label, _circle_ring(geometry.circle.centre, geometry.circle.radius_km)))
    placed = [(s, label, state) for s, label, state in stations if s.location is not None]
    points = [p for _, _, ring in shapes for p in ring] + [s.location for s, _, _ in placed if s.location]
    if not points:
        return Markup("")
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    squash = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * squash, 1e-4)
    span_y = max(max(lats) - min(lats), 1e-4)
    pad = 40
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)

    def xy(p: Point) -> tuple[float, float]:
        return (round(pad + (p[1] - min(lons)) * squash * scale, 1),
                round(height - pad - (p[0] - min(lats)) * scale, 1))

    parts = [f'<svg class="map" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">',
             f'<rect width="{width}" height="{height}" class="sea"/>']
    for zone, label, ring in shapes:
        corners = " ".join("{},{}".format(*xy(p)) for p in ring)
        cx, cy = xy((sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring)))
        parts.append(f'<polygon points="{corners}" class="zone"><title>{escape(label)}</title></polygon>'
                     f'<text x="{cx}" y="{cy}" class="zone-label">{escape(zone.id)}</text>')
    for station, label, state in placed:
        assert station.location is not None
        sx, sy = xy(station.location)
        shape = (f'<rect x="{sx - 5}" y="{sy - 5}" width="10" height="10"' if station.kind == "rain"
                 else f'<circle cx="{sx}" cy="{sy}" r="6"')
        parts.append(f'<g class="station {escape(state)} {escape(station.kind)}">{shape}/>'
                     f'<text x="{sx + 8}" y="{sy + 4}">{escape(label)}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
