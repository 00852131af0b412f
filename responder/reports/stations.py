"""The stations a report charts, and their readings as series with thresholds and rolling rain totals.

Two steps around the read the use case does: :func:`to_read` says which stations and which windows of time
(the chart's, and for rain gauges the rain before it that their first rolling total counts),
:func:`series` turns what was read into the chart's series.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from responder.reports import figures, rain
from responder.reports.model import RainThreshold, RainTotals, Reading, StationSeries, Threshold
from responder.reports.snapshot import SnapshotView, local, number

THRESHOLD_KEYS = ("warning_level", "guaranteed_level")
MAX_STATIONS = 8
"""Stations charted (and read): those the incidents' evidence names first, then the plan's order."""
THRESHOLD_NAMES = {"warning_level": "warning level 警戒水位", "guaranteed_level": "guaranteed level 保证水位"}


@dataclass(frozen=True)
class ToRead:
    """The readings a report needs: of ``ids`` from ``start`` to ``end``, and of ``lead_ids`` for ``lead`` before."""

    stations: tuple[Mapping[str, Any], ...]
    ids: tuple[str, ...]
    start: datetime
    end: datetime
    lead_ids: tuple[str, ...]
    lead: timedelta
    windows: Mapping[str, tuple[timedelta, ...]]
    rain_limits: Mapping[str, tuple[RainThreshold, ...]]


def to_read(view: SnapshotView, mentioned: Sequence[str], start: datetime, end: datetime) -> ToRead:
    """What to read for a report of ``start``..``end`` under the plan ``view``; ``mentioned``: the strings of the
    incidents' evidence, whose stations come first."""
    named = set(mentioned)
    every = view.stations()
    stations = ([s for s in every if str(s["id"]) in named] + [s for s in every if str(s["id"]) not in named])
    stations = stations[:MAX_STATIONS]
    ids = tuple(str(s["id"]) for s in stations)
    rules = view.rules()
    rain_limits = {str(s["id"]): rain.rain_thresholds(rules, str(s["id"]), str(s.get("kind") or ""),
                                                      view.level_colour) for s in stations}
    # the windows of the rules that apply; a rain gauge no rule names gets the plan's default window
    windows = {str(s["id"]): rain.windows(rain_limits[str(s["id"])])
               or ((rain.DEFAULT_WINDOW,) if s.get("kind") == rain.RAIN_STATION_KIND else ()) for s in stations}
    lead_ids = tuple(sid for sid in ids if windows[sid])
    margin = figures.readings_margin(start, end)
    return ToRead(tuple(stations), ids, start - margin, end + margin, lead_ids,
                  max((w for sid in lead_ids for w in windows[sid]), default=timedelta(0)), windows, rain_limits)


def series(plan: ToRead, view: SnapshotView, lang: str, found: Sequence[Reading],
           earlier: Sequence[Reading]) -> list[StationSeries]:
    """The chart's series: one per station and quantity read, in the order of ``plan.stations``.

    ``found``: the readings of ``plan.ids`` in the chart's window; ``earlier``: those of ``plan.lead_ids`` in the
    ``plan.lead`` before it (a rolling total at the first reading shown counts the rain of the window before it).
    """
    wanted = set(plan.lead_ids)
    by_series: dict[tuple[str, str], list[Reading]] = defaultdict(list)
    for r in found:
        by_series[(r.station_id, r.quantity)].append(r)
    before: dict[tuple[str, str], list[Reading]] = defaultdict(list)
    for r in earlier:
        if r.station_id in wanted and r.at < plan.start:
            before[(r.station_id, r.quantity)].append(r)
    out = []
    for station in plan.stations:
        sid = str(station["id"])
        thresholds = _thresholds(station)
        name = local(station.get("name"), lang, view.default_language) or sid
        name_en = local(station.get("name"), "en") or sid
        kind = str(station.get("kind") or "")
        for (station_id, quantity), points in sorted(by_series.items()):
            if station_id != sid:
                continue
            unit = next((p.unit for p in points if p.unit), str(station.get("unit") or ""))
            shown = tuple((p.at, p.value) for p in sorted(points, key=lambda p: p.at))
            one = StationSeries(sid, name, name_en, kind, quantity, unit, thresholds, shown)
            if one.is_rain:
                one = replace(one, rain_totals=_rain_totals(shown, before.get((sid, quantity), []),
                                                            plan.windows[sid] or (rain.DEFAULT_WINDOW,),
                                                            plan.rain_limits[sid]))
            out.append(one)
    return out


def _rain_totals(shown: Sequence[tuple[datetime, float]], earlier: Sequence[Reading],
                 windows: Sequence[timedelta], limits: Sequence[RainThreshold]) -> tuple[RainTotals, ...]:
    """The rolling total of each window at each reading shown, counting the earlier readings too."""
    since = shown[0][0]
    every = [(r.at, r.value) for r in earlier if r.at < since] + list(shown)
    return tuple(RainTotals(w, tuple(t for t in limits if t.window == w),
                            tuple(rain.rolling_totals(every, w, since=since))) for w in windows)


def _thresholds(station: Mapping[str, Any]) -> tuple[Threshold, ...]:
    """warning_level, guaranteed_level, then any other numeric *_level / *_mm key, as the plan gives them."""
    keys = [k for k in THRESHOLD_KEYS if k in station]
    keys += sorted(k for k in station if isinstance(k, str) and k not in THRESHOLD_KEYS
                   and (k.endswith("_level") or k.endswith("_mm")))
    out = []
    for key in keys:
        value = number(station.get(key))
        if value is not None:
            out.append(Threshold(key, THRESHOLD_NAMES.get(key, key.replace("_", " ")), value))
    return tuple(out)
