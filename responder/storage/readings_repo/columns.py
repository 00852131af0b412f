"""A batch of readings as runs: each a ``Series`` of one station, quantity, unit and source in rising time.

A drill's or a bulk feed's series are runs as they come; readings one by one are grouped into runs as they
arrive (a feed's rows mostly come grouped by station and in time order). Everything ingest does is per run
(the rows to insert, the hourly totals, the latest value, the look-up of what is stored), never an object or a
Python step per reading."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, repeat
from typing import Any, NamedTuple

from responder.domain.readings import Series
from responder.storage.readings_repo.bulk import Key, same_value


class Conflict(NamedTuple):
    key: Key
    value: float
    source: str
    stored: float



Runs = Sequence[Series]


def runs_of(rows: Iterable[tuple[Key, float, str, str]]) -> list[Series]:
    """Rows ``(key, value, unit, source)`` with distinct keys as runs, in their order."""
    runs: list[Series] = []
    times: list[int] = []
    values: list[float] = []
    last: tuple[str, str, str, str] | None = None
    previous = 0
    for (station, quantity, t), value, unit, source in rows:
        head = (station, quantity, unit, source)
        if head != last or t <= previous:
            times, values, last = [], [], head
            runs.append(Series(station, quantity, unit, source, times, values))  # type: ignore[arg-type]
        times.append(t)
        values.append(value)
        previous = t
    return runs


def count(runs: Runs) -> int:
    return sum(len(run.times) for run in runs)


def spans(runs: Runs) -> dict[str, tuple[int, int, set[str]]]:
    """Per quantity: the earliest and latest time and the stations, to look up what is stored already."""
    out: dict[str, tuple[int, int, set[str]]] = {}
    for run in runs:
        lo, hi = run.times[0], run.times[-1]
        known = out.get(run.quantity)
        if known is None:
            out[run.quantity] = (lo, hi, {run.station})
        else:
            known[2].add(run.station)
            if lo < known[0] or hi > known[1]:
                out[run.quantity] = (min(lo, known[0]), max(hi, known[1]), known[2])
    return out


def key_rows(runs: Runs) -> Iterator[Key]:
    return chain.from_iterable(zip(repeat(run.station), repeat(run.quantity), run.times) for run in runs)


def reading_rows(runs: Runs, received: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of ``readings`` (station, quantity, time, value, unit, source, received_at), made as they are read."""
    return chain.from_iterable(zip(repeat(run.station), repeat(run.quantity), run.times, run.values,
                                   repeat(run.unit), repeat(run.source), repeat(received)) for run in runs)


def without(runs: Runs, keys: set[Key] | dict[Key, float]) -> list[Series]:
    """``runs`` less the readings whose keys are in ``keys`` (those stored already): the rare path."""
    kept: list[Series] = []
    for run in runs:
        pairs = [(t, v) for t, v in zip(run.times, run.values, strict=True)
                 if (run.station, run.quantity, t) not in keys]
        if len(pairs) == len(run.times):
            kept.append(run)
        elif pairs:
            kept.append(run._replace(times=[t for t, _ in pairs], values=[v for _, v in pairs]))
    return kept


def conflicts_with(runs: Runs, stored: dict[Key, float]) -> tuple[int, list[Conflict]]:
    """Of ``runs``' readings already stored: how many are the same again (duplicates), and the others (conflicts)."""
    duplicates = 0
    conflicts: list[Conflict] = []
    for run in runs:
        for t, value in zip(run.times, run.values, strict=True):
            key = (run.station, run.quantity, t)
            known = stored.get(key)
            if known is None:
                continue
            if same_value(known, value):
                duplicates += 1
            else:
                conflicts.append(Conflict(key, value, run.source, known))
    return duplicates, conflicts
