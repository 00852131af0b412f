"""Rain against the plan's rain rules, on plain values (no database, no matplotlib).

A rain rule (kind ``rain_total``) compares the rain of a rolling window, e.g. 24 h, with its thresholds
({level: mm}). The report reads the rules from the incident's plan snapshot (JSON, read defensively like
the rest of :mod:`responder.reports.snapshot`) and sums the window as :mod:`responder.domain.derived` does:
a rain reading is the rain of the period ending at its time, and the window at ``t`` is ``(t - window, t]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from responder.domain.types import parse_duration
from responder.reports.model import RainThreshold
from responder.reports.snapshot import number

RAIN_RULE_KIND = "rain_total"
RAIN_STATION_KIND = "rain"
"""The station kind a rain rule with ``stations: all`` (or no ``stations``) applies to."""
DEFAULT_WINDOW = timedelta(hours=24)
"""A rain rule's window when it gives none; also the window charted at a rain station no rule names."""
DECIMALS = 6
"""Totals are rounded to this many decimals: sums of tenths of a mm, without float dust."""


def _level(key: Any) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        level = key
    elif isinstance(key, str) and key.strip().isdigit():
        level = int(key.strip())
    else:
        return None
    return level if level >= 1 else None


def _window(rule: Mapping[str, Any]) -> timedelta | None:
    raw = rule.get("window")
    if raw is None:
        return DEFAULT_WINDOW
    try:
        window = parse_duration(raw)
    except ValueError:
        return None
    return window if window > timedelta(0) else None


def applies(rule: Mapping[str, Any], station_id: str, station_kind: str) -> bool:
    """Does this rain rule look at this station? ``stations: all`` (the default) means every rain station."""
    stations = rule.get("stations", "all")
    if stations is None or stations == "all":
        return station_kind == RAIN_STATION_KIND
    if isinstance(stations, list):
        return station_id in {str(s) for s in stations}
    return False


def rain_thresholds(rules: Iterable[Mapping[str, Any]], station_id: str, station_kind: str,
                    colour: Callable[[int], str]) -> tuple[RainThreshold, ...]:
    """Every threshold of the rain rules that apply to the station, by window, then smallest (least severe)
    first; the same window, level and value given by two rules is shown once."""
    found: dict[tuple[timedelta, int, float], RainThreshold] = {}
    for rule in rules:
        if rule.get("kind") != RAIN_RULE_KIND or not applies(rule, station_id, station_kind):
            continue
        window = _window(rule)
        thresholds = rule.get("thresholds")
        if window is None or not isinstance(thresholds, Mapping):
            continue
        for key, raw in thresholds.items():
            level, value = _level(key), number(raw)
            if level is None or value is None or value <= 0:
                continue
            found.setdefault((window, level, value),
                             RainThreshold(str(rule.get("id") or ""), level, value, window, colour(level)))
    return tuple(sorted(found.values(), key=lambda t: (t.window, t.value, -t.level)))


def windows(thresholds: Iterable[RainThreshold]) -> tuple[timedelta, ...]:
    """The distinct windows of these thresholds, shortest first."""
    return tuple(sorted({t.window for t in thresholds}))


def rolling_totals(points: Sequence[tuple[datetime, float]], window: timedelta,
                   since: datetime | None = None) -> list[tuple[datetime, float]]:
    """The rain over ``(t - window, t]`` at each reading time ``t`` (from ``since`` on, when given).

    ``points`` are (time, mm in the period ending then); readings before ``since`` only count towards the
    totals. Two pointers over the sorted readings: linear in their number, whatever the window.
    """
    ordered = sorted(points, key=lambda p: p[0])
    times = [t for t, _ in ordered]
    prefix = list(accumulate((v for _, v in ordered), initial=0.0))
    out: list[tuple[datetime, float]] = []
    lo = hi = 0
    n = len(ordered)
    for t in times:
        while hi < n and times[hi] <= t:
            hi += 1
        while lo < n and times[lo] <= t - window:
            lo += 1
        if since is None or t >= since:
            out.append((t, round(prefix[hi] - prefix[lo], DECIMALS) + 0.0))
    # readings at the same time give the same total once each: keep one point per time
    return [p for i, p in enumerate(out) if i + 1 == len(out) or out[i + 1][0] != p[0]]


def first_reaching(points: Iterable[tuple[datetime, float]], value: float) -> datetime | None:
    """The first time a total is at or above ``value`` (the rules compare with >=)."""
    return next((t for t, v in points if v >= value), None)


def window_label(window: timedelta) -> str:
    """24 h, 72 h, 7 d, 30 min: how the chart and the tables name a window."""
    seconds = int(window.total_seconds())
    if seconds % 3600 == 0 and seconds <= 72 * 3600:
        return f"{seconds // 3600} h"
    if seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def threshold_label(threshold: RainThreshold) -> str:
    """e.g. ``L2 200 mm/24 h``."""
    return f"L{threshold.level} {threshold.value:g} mm/{window_label(threshold.window)}"
