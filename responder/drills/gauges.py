"""The scenario's gauges: every reading of the drill generated and checked once, handed over at each feed check."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime

from responder.domain.drills import Scenario, sample_series
from responder.domain.readings import Rejected, Series, epoch_seconds, validate_series
from responder.domain.stations import Station


class Gauges:
    """The readings of every gauge a scenario describes, as a feed would deliver them.

    They are checked against the drill's end: a reading is only handed over at the first feed check at or
    after its time (:meth:`due`), so none arrives from the future.
    """

    def __init__(self, scenario: Scenario, stations: Sequence[Station], start: datetime, end: datetime) -> None:
        self._series: list[Series] = []
        self._rejected: list[Rejected] = []
        by_id = {s.id: s for s in stations}
        rain: dict[str, dict[int, float]] = {}
        for series in sorted(scenario.series, key=lambda s: s.kind == "river"):  # rain before its rivers
            times, values = sample_series(series, start, end, rain)
            if series.kind != "river":
                rain.setdefault(series.station, {}).update(zip(times, values, strict=True))
            checked, rejected = validate_series("drill", series.station, times, values, by_id, end, source="drill")
            self._rejected.extend(rejected)
            if checked is not None:
                self._series.append(checked)
        self._clocks: list[list[int]] = []
        """The distinct lists of reading times: gauges that report on the same ticks share one."""
        self._clock_of: list[int] = []
        """Per series, the index of its times in ``_clocks``."""
        shared: dict[tuple[int, ...], int] = {}
        for gauge in self._series:
            clock = shared.setdefault(tuple(gauge.times), len(self._clocks))
            if clock == len(self._clocks):
                self._clocks.append(list(gauge.times))
            self._clock_of.append(clock)
        self._cursor = [0] * len(self._clocks)
        """Per clock, how many of its times have been handed over."""

    def due(self, now: datetime) -> tuple[list[Series], list[Rejected]]:
        """The readings taken since the last feed check (and, at the first, what the plan refused)."""
        upto = epoch_seconds(now)
        cuts = []  # per clock: the new readings' positions and times, cut once for every gauge on that clock
        for i, times in enumerate(self._clocks):
            a = self._cursor[i]
            b = self._cursor[i] = bisect.bisect_right(times, upto, lo=a)
            cuts.append((a, b, times[a:b]))
        due = []
        for series, clock in zip(self._series, self._clock_of, strict=True):
            a, b, times = cuts[clock]
            if b > a:
                due.append(Series(series.station, series.quantity, series.unit, series.source, times,
                                  series.values[a:b]))
        rejected, self._rejected = self._rejected, []
        return due, rejected
