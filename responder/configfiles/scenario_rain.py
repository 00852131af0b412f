"""A drill scenario's listed rain checked against its gauge: what the values are, over which interval, and
whether the drill's readings will add up to what is listed. Refusals are located; what the drill will do
that the file leaves implicit is stated as a note."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from responder.domain.checks import Path as KeyPath
from responder.domain.drills import Listed, sample_series
from responder.domain.stations import Station
from responder.domain.types import format_duration

Bad = Callable[[KeyPath, str], None]
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def listed_rain(series: Listed, i: int, station: Station, duration: timedelta, bad: Bad, notes: list[str]) -> Listed:
    """The series with a rain gauge's ``every`` filled in (its own interval); problems go to ``bad``."""
    where: KeyPath = ("series", i)
    if station.kind != "rain":
        if series.rain is not None:
            bad((*where, "rain"), f"rain: is for a rain gauge's values; {station.id} is a {station.kind} gauge")
        return series
    for j, point in enumerate(series.values):
        if point.value < 0:
            bad((*where, "values", j, "value"), f"negative rainfall {point.value}")
    if series.rain is None or series.per is None:
        bad((*where, "values"), "say what these rain values are: `rain: totals` (mm fallen in the `per` ending at "
                                "each `at`) or `rain: intensity` (mm/h over it), with e.g. `per: 1h`")
        return series
    per = series.per
    every = series.every or station.interval
    if series.every is None:
        series = series.model_copy(update={"every": every})
    refused: list[str] = []
    for j, point in enumerate(series.values):
        at = format_duration(point.at)
        if point.at < per:
            refused.append(f"the value at {at} covers the {format_duration(per)} before it, which starts before the "
                           f"drill (list each value at the end of its interval: the first at {format_duration(per)} "
                           "or later)")
            bad((*where, "values", j, "at"), refused[-1])
        if point.at > duration:
            refused.append(f"the value at {at} is after the end of the drill ({format_duration(duration)}): its rain "
                           "would be lost")
            bad((*where, "values", j, "at"), refused[-1])
    for j, (a, b) in enumerate(pairwise(series.values), start=1):
        if b.at - a.at < per:
            refused.append(f"values {format_duration(a.at)} and {format_duration(b.at)} are "
                           f"{format_duration(b.at - a.at)} apart but each covers {format_duration(per)}: their rain "
                           "would be counted twice")
            bad((*where, "values", j, "at"), refused[-1])
    if refused:
        return series
    what = "totals" if series.rain == "totals" else "intensities"
    label = f"series {i} ({station.id})"
    if every != per:
        verb = "spread over" if every < per else "summed into"
        notes.append(f"{label}: rain {what} over {format_duration(per)} {verb} readings every "
                     f"{format_duration(every)}")
    if every != station.interval:
        notes.append(f"{label}: readings every {format_duration(every)} on a gauge configured for "
                     f"{format_duration(station.interval)}")
    if any(b.at - a.at > per for a, b in pairwise(series.values)):
        notes.append(f"{label}: no rain between values more than {format_duration(per)} apart")
    if series.after_last == "continue":
        notes.append(f"{label}: rain goes on at the last value's rate after "
                     f"{format_duration(series.values[-1].at)}, to the end of the drill")
        return series
    _, values = sample_series(series, _EPOCH, _EPOCH + duration, {})
    listed, drilled = series.listed_mm(), sum(values)
    if abs(drilled - listed) > 1e-3:
        bad((*where, "every"), f"readings every {format_duration(every)} over {format_duration(duration)} would hold "
                               f"{drilled:.1f} of the {listed:.1f} mm listed")
    else:
        notes.append(f"{label}: {listed:.1f} mm listed, {drilled:.1f} mm in the drill; no rain after "
                     f"{format_duration(series.values[-1].at)}")
    return series
