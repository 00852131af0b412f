"""A cycle's snapshots of every station as columns: what the rules judge all stations on at once.

A cycle covers thousands of gauges and, in the usual case, gives a level at a handful. Building one frozen
``StationSnapshot`` per station per cycle was most of the Python a cycle cost (and garbage for the collector),
so the figures are kept as one list per field, indexed like ``ids``, and a station's snapshot is made only
when it is asked for (the winners' evidence, `feeds check`, the board). The columns are a
``Mapping[str, StationSnapshot]``: the full ``rules.evaluate`` reads them like any other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from responder.domain.derived import NOTHING, Latest, StationSnapshot, station_figures
from responder.domain.stations import Station, StationKind


class SnapshotColumns(Mapping[str, StationSnapshot]):
    """Every station's snapshot figures, one list per field (``None`` where a station has no such figure)."""

    __slots__ = ("_made", "dry_days", "guaranteed", "ids", "index", "kinds", "last", "latest", "main", "margin", "rain",
                 "rates", "river", "stage", "stale", "storage_pct", "totals")

    def __init__(self, ids: list[str], kinds: list[StationKind], main: list[str]) -> None:
        self.ids = ids
        self.index = {sid: i for i, sid in enumerate(ids)}
        self.kinds = kinds
        self.main = main
        """Each station's main quantity."""
        self.latest: list[Mapping[str, Latest]] = []
        self.stage: list[float | None] = []
        """The latest stage, m (what water-level rules compare)."""
        self.margin: list[float | None] = []
        self.guaranteed: list[float | None] = []
        self.storage_pct: list[float | None] = []
        self.stale: list[bool] = []
        self.last: list[datetime | None] = []
        """The latest report of any quantity the station measures (what staleness is judged on)."""
        self.rain: list[bool] = []
        """Whether the station measures rain (then it has every window's total and its dry days)."""
        self.river: list[bool] = []
        """Whether the station measures the stage (then it has every lookback's rate, None where too few reports)."""
        self.dry_days: list[int | None] = []
        self.totals: dict[timedelta, list[float | None]] = {}
        """Per window, each station's rain (None: not a rain gauge)."""
        self.rates: dict[timedelta, list[float | None]] = {}
        """Per lookback, each station's rate of rise (None: none, or not a stage gauge)."""
        self._made: dict[str, StationSnapshot] = {}

    @classmethod
    def compose(cls, stations: Sequence[Station], now: datetime, latest: Mapping[str, Mapping[str, Latest]],
                totals: Mapping[timedelta, Mapping[str, float]], rates: Mapping[timedelta, Mapping[str, float | None]],
                dry_days: Mapping[str, int | None]) -> SnapshotColumns:
        """The columns of ``stations`` at ``now`` from the latest values per station and quantity, each window's
        rain per gauge (0.0 where none is given), each lookback's rate per station and the gauges' dry days:
        the same figures ``derived.compose_snapshot`` gives one station (``station_figures``)."""
        out = cls([s.id for s in stations], [s.kind for s in stations], [s.measured[0] for s in stations])
        figures = [station_figures(s, now, latest.get(s.id, NOTHING)) for s in stations]
        if figures:  # one tuple per station, turned into columns by zip
            kept, last, margin, guaranteed, share, stale = map(list, zip(*figures, strict=True))
            out.latest, out.last, out.margin, out.guaranteed, out.storage_pct, out.stale = (
                kept, last, margin, guaranteed, share, stale)
        out.stage = [None if (stage := k.get("stage_m")) is None else stage.value for k in out.latest]
        out.rain = ["rain_mm" in s.measured for s in stations]
        out.river = ["stage_m" in s.measured for s in stations]
        # Then a column at a time.
        ids, rain, river = out.ids, out.rain, out.river
        out.dry_days = [dry_days.get(sid) if r else None for sid, r in zip(ids, rain, strict=True)]
        for w, per_station in totals.items():
            out.totals[w] = [per_station.get(sid, 0.0) if r else None for sid, r in zip(ids, rain, strict=True)]
        for lb, per_station_rate in rates.items():
            out.rates[lb] = [per_station_rate.get(sid) if r else None for sid, r in zip(ids, river, strict=True)]
        return out

    @classmethod
    def of(cls, snapshots: Mapping[str, StationSnapshot]) -> SnapshotColumns:
        """Columns of snapshots already made (tests, a single station): each one is kept and given back as it is."""
        if isinstance(snapshots, SnapshotColumns):
            return snapshots
        snaps = list(snapshots.values())
        out = cls(list(snapshots), [s.kind for s in snaps], [s.quantity for s in snaps])
        out.latest = [s.latest for s in snaps]
        out.stage = [None if (stage := s.latest.get("stage_m")) is None else stage.value for s in snaps]
        out.margin = [s.margin for s in snaps]
        out.guaranteed = [s.guaranteed_margin for s in snaps]
        out.storage_pct = [s.storage_pct for s in snaps]
        out.stale = [s.stale for s in snaps]
        out.last = [s.last_time for s in snaps]
        out.rain = [bool(s.totals) for s in snaps]
        out.river = [bool(s.rates) for s in snaps]
        out.dry_days = [s.dry_days for s in snaps]
        out.totals = {w: [s.totals.get(w) for s in snaps] for w in sorted({w for s in snaps for w in s.totals})}
        out.rates = {lb: [s.rates.get(lb) for s in snaps] for lb in sorted({lb for s in snaps for lb in s.rates})}
        out._made = dict(snapshots)
        return out

    def of_kinds(self, kinds: frozenset[str]) -> list[int]:
        """The stations of these kinds, in order."""
        return [i for i, kind in enumerate(self.kinds) if kind in kinds]

    def snapshot(self, i: int) -> StationSnapshot:
        """The ``i``-th station's snapshot, made on first use."""
        sid = self.ids[i]
        made = self._made.get(sid)
        if made is None:
            rain = self.rain[i]
            made = self._made[sid] = StationSnapshot(
                sid, self.kinds[i], self.main[i], self.latest[i],  # type: ignore[arg-type]
                {w: column[i] for w, column in self.totals.items()} if rain else {},  # type: ignore[misc]
                {lb: column[i] for lb, column in self.rates.items()} if self.river[i] else {},
                self.margin[i], self.guaranteed[i], self.dry_days[i], self.storage_pct[i], self.stale[i])
        return made

    def __getitem__(self, sid: str) -> StationSnapshot:
        return self.snapshot(self.index[sid])

    def get(self, sid: str, default: Any = None) -> Any:
        """As ``Mapping.get``, without its detour through ``__getitem__`` and ``KeyError`` (asked per station)."""
        made = self._made.get(sid)
        if made is not None:
            return made
        i = self.index.get(sid)
        return default if i is None else self.snapshot(i)

    def __contains__(self, sid: object) -> bool:
        return sid in self.index

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)
