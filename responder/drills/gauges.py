"""The scenario's gauges: every reading of the drill generated and checked once, handed over at each feed check."""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from responder.domain.drills import Scenario, sample_series
from responder.domain.readings import Rejected, Series, epoch_seconds, validate_series
from responder.domain.stations import Quantity, Station


class _Gauge(NamedTuple):
    """One checked series, its columns kept apart: its times are ``clock``'s, its values from ``offset`` on."""

    station: str
    quantity: Quantity
    unit: str
    source: str
    clock: int
    offset: int


class Gauges:
    """The readings of every gauge a scenario describes, as a feed would deliver them.

    They are checked against the drill's end: a reading is only handed over at the first feed check at or
    after its time (:meth:`due`), so none arrives from the future. Kept as machine numbers, not Python objects:
    all values in one array, each distinct list of times once (a large drill's million readings as lists of
    Python numbers took some 70 MB, most of it still held by the allocator after they were let go).
    """

    def __init__(self, scenario: Scenario, stations: Sequence[Station], start: datetime, end: datetime) -> None:
        self._gauges: list[_Gauge] = []
        self._values = array("d")
        self._clocks: list[array[int]] = []
        """The distinct lists of reading times: gauges that report on the same ticks share one."""
        self._rejected: list[Rejected] = []
        by_id = {s.id: s for s in stations}
        shared: dict[tuple[int, ...], int] = {}
        rain: dict[str, dict[int, float]] = {}
        for series in sorted(scenario.series, key=lambda s: s.kind == "river"):  # rain before its rivers
            times, values = sample_series(series, start, end, rain)
            if series.kind != "river":
                rain.setdefault(series.station, {}).update(zip(times, values, strict=True))
            checked, rejected = validate_series("drill", series.station, times, values, by_id, end, source="drill")
            self._rejected.extend(rejected)
            if checked is None:
                continue
            clock = shared.setdefault(tuple(checked.times), len(self._clocks))
            if clock == len(self._clocks):
                self._clocks.append(array("q", checked.times))
            self._gauges.append(_Gauge(checked.station, checked.quantity, checked.unit, checked.source, clock,
                                       len(self._values)))
            self._values.extend(checked.values)
        self._cursor = [0] * len(self._clocks)
        """Per clock, how many of its times have been handed over."""

    def due(self, now: datetime) -> tuple[list[Series], list[Rejected]]:
        """The readings taken since the last feed check (and, at the first, what the plan refused)."""
        upto = epoch_seconds(now)
        cuts: list[tuple[int, int, list[int]]] = []  # per clock: the new readings' positions and times, cut once
        for i, ticks in enumerate(self._clocks):
            a = self._cursor[i]
            b = self._cursor[i] = bisect.bisect_right(ticks, upto, lo=a)
            cuts.append((a, b, ticks[a:b].tolist()))
        values = self._values
        due = []
        for station, quantity, unit, source, clock, offset in self._gauges:  # unpacked: a thousand gauges a check
            a, b, times = cuts[clock]
            if b > a:
                due.append(Series(station, quantity, unit, source, times, values[offset + a:offset + b].tolist()))
        rejected, self._rejected = self._rejected, []
        return due, rejected
