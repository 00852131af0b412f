"""A batch of readings as runs: each a ``Series`` of one station, quantity, unit and source in rising time.

A drill's or a bulk feed's series are runs as they come; readings one by one are grouped into runs as they
arrive (a feed's rows mostly come grouped by station and in time order). Everything ingest does is per run
(the rows to insert, the hourly totals, the latest value, the look-up of what is stored), never an object or a
Python step per reading."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, repeat
from operator import itemgetter, lt
from typing import Any, NamedTuple

from responder.domain.readings import Series
from responder.storage.readings_repo.bulk import Key, same_value


class Conflict(NamedTuple):
    key: Key
    value: float
    source: str
    stored: float



Runs = Sequence[Series]
_STATION, _QUANTITY, _UNIT, _SOURCE, _TIMES, _VALUES = (itemgetter(i) for i in range(6))
"""Series' fields by position: mapped over a batch's runs, they make its columns without a Python step per run."""
_FIRST, _LAST = itemgetter(0), itemgetter(-1)


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


def are_runs(series: Sequence[Series]) -> bool:
    """Whether ``series`` are runs as they stand: one each per station and quantity, each in rising time
    (checked once per list of times: series on the same ticks share one)."""
    keys = set(zip(map(_STATION, series), map(_QUANTITY, series), strict=True))
    clocks = dict(zip(map(id, map(_TIMES, series)), map(_TIMES, series), strict=True)).values()
    return len(keys) == len(series) and all(map(_rising, clocks))


def _rising(times: Sequence[int]) -> bool:
    return all(map(lt, times, times[1:]))


def count(runs: Runs) -> int:
    return sum(map(len, map(_TIMES, runs)))


def spans(runs: Runs) -> dict[str, tuple[int, int, set[str]]]:
    """Per quantity: the earliest and latest time and the stations, to look up what is stored already."""
    out = {}
    for quantity in sorted(set(map(_QUANTITY, runs))):
        same = [run for run in runs if run.quantity == quantity]
        out[quantity] = (min(map(_FIRST, map(_TIMES, same))), max(map(_LAST, map(_TIMES, same))),
                         set(map(_STATION, same)))
    return out


def key_rows(runs: Runs) -> Iterator[Key]:
    return zip(_repeated(runs, _STATION), _repeated(runs, _QUANTITY), chain.from_iterable(map(_TIMES, runs)),
               strict=True)


def reading_columns(runs: Runs, received: Any) -> list[Sequence[Any]]:
    """The columns of ``readings`` (station, quantity, time, value, unit, source, received_at)."""
    return [list(_repeated(runs, _STATION)), list(_repeated(runs, _QUANTITY)),
            list(chain.from_iterable(map(_TIMES, runs))), list(chain.from_iterable(map(_VALUES, runs))),
            list(_repeated(runs, _UNIT)), list(_repeated(runs, _SOURCE)), [received] * count(runs)]


def latest_rows(runs: Runs) -> list[tuple[str, str, int, float, str]]:
    """Per station and quantity, its newest reading among ``runs``: (station, quantity, time, value, source)."""
    rows = list(zip(map(_STATION, runs), map(_QUANTITY, runs), map(_LAST, map(_TIMES, runs)),
                    map(_LAST, map(_VALUES, runs)), map(_SOURCE, runs), strict=True))
    if len(set(zip(map(_STATION, runs), map(_QUANTITY, runs), strict=True))) == len(rows):
        return rows  # one run each (always so for whole series)
    newest: dict[tuple[str, str], tuple[str, str, int, float, str]] = {}
    for row in rows:
        known = newest.get(row[:2])
        if known is None or row[2] > known[2]:
            newest[row[:2]] = row
    return list(newest.values())


def _repeated(runs: Runs, field: Callable[[Series], Any]) -> Iterator[Any]:
    """``field`` of each run, once per reading of it."""
    return chain.from_iterable(map(repeat, map(field, runs), map(len, map(_TIMES, runs))))


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
