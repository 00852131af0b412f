"""A batch of readings as parallel lists (no object per reading), and its runs of one station in time order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from responder.domain.readings import Series
from responder.storage.readings_repo.bulk import (
    Key,
)


class Conflict(NamedTuple):
    key: Key
    value: float
    source: str
    stored: float



class Columns:
    """Readings with distinct keys as parallel lists: what both engines' bulk inserts take, with no per-row objects."""

    def __init__(self) -> None:
        self.station: list[str] = []
        self.quantity: list[str] = []
        self.time: list[int] = []
        self.value: list[float] = []
        self.unit: list[str] = []
        self.source: list[str] = []
        self.spans: dict[str, tuple[int, int, set[str]]] = {}
        """Per quantity: the earliest and latest time and the stations, to look up what is stored already."""
        self.runs: list[tuple[str, str, int, int]] | None = []
        """Rows ``[lo, hi)`` of one station and quantity in rising time, while every row came with a series."""

    def __len__(self) -> int:
        return len(self.time)

    def add(self, station: str, quantity: str, t: int, value: float, unit: str, source: str) -> None:
        self.runs = None  # rows one by one: their runs are found when needed (``runs_of``)
        self.station.append(station)
        self.quantity.append(quantity)
        self.time.append(t)
        self.value.append(value)
        self.unit.append(unit)
        self.source.append(source)
        self._span(quantity, t, t, station)

    def add_series(self, series: Series) -> None:
        n = len(series.times)
        if not n:
            return
        if self.runs is not None:
            self.runs.append((series.station, series.quantity, len(self.time), len(self.time) + n))
        self.station += [series.station] * n
        self.quantity += [series.quantity] * n
        self.time += series.times
        self.value += series.values
        self.unit += [series.unit] * n
        self.source += [series.source] * n
        self._span(series.quantity, series.times[0], series.times[-1], series.station)

    def _span(self, quantity: str, lo: int, hi: int, station: str) -> None:
        known = self.spans.get(quantity)
        if known is None:
            self.spans[quantity] = (lo, hi, {station})
        else:
            known[2].add(station)
            if lo < known[0] or hi > known[1]:
                self.spans[quantity] = (min(lo, known[0]), max(hi, known[1]), known[2])

    def key_rows(self) -> Iterator[Key]:
        return zip(self.station, self.quantity, self.time, strict=True)

    def without(self, keys: set[Key] | dict[Key, float]) -> Columns:
        kept = Columns()
        for i, key in enumerate(self.key_rows()):
            if key not in keys:
                kept.add(*key, self.value[i], self.unit[i], self.source[i])
        return kept



def runs_of(columns: Columns) -> Iterator[tuple[str, str, int, int]]:
    """``columns``' rows as runs ``[lo, hi)`` of one station and quantity in rising time: a series is one run,
    and a feed's rows mostly come grouped by station and in time order."""
    if columns.runs is not None:
        yield from columns.runs
        return
    lo = 0
    for i in range(1, len(columns) + 1):
        if (i == len(columns) or columns.station[i] != columns.station[lo]
                or columns.quantity[i] != columns.quantity[lo] or columns.time[i] <= columns.time[i - 1]):
            yield columns.station[lo], columns.quantity[lo], lo, i
            lo = i

