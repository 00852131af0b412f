"""A cycle's snapshots as columns (``SnapshotColumns.compose``): each station's snapshot, made when read, is the one
``compose_snapshot`` makes from the same figures, and the rules in short over the columns decide what the full
``evaluate`` over those snapshots does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from responder.domain.derived import Latest, compose_snapshot
from responder.domain.rules import Rule, evaluate, reached_levels, summarise
from responder.domain.snapshot_columns import SnapshotColumns
from responder.domain.stations import Station

NOW = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)
WINDOWS = (H, 24 * H)
LOOKBACKS = (H, 3 * H)
RULES = TypeAdapter(list[Rule]).validate_python([
    {"id": "rain-24h", "kind": "rain_total", "window": "24h", "thresholds": {2: 200, 3: 100, 4: 50}},
    {"id": "storm-1h", "kind": "rain_total", "window": "1h", "thresholds": {3: 40}, "mode": "auto"},
    {"id": "river-rising", "kind": "rate_of_rise", "limit": 0.3},
    {"id": "slow-rise", "kind": "rate_of_rise", "limit": 0.1, "lookback": "3h", "stations": ["s1", "s3"]},
    {"id": "river-warning", "kind": "water_level", "within": {3: 0.5, 4: 1.0}, "at_guaranteed": 1},
    {"id": "dam-break", "kind": "dam_break", "mode": "auto"},
    {"id": "dry-days", "kind": "drought_dry_days", "thresholds": {4: 16, 3: 26, 2: 36}},
    {"id": "pond", "kind": "reservoir_storage", "below": {4: 0.5, 3: 0.3, 2: 0.1}},
])
QUANTITIES = ("rain_mm", "stage_m", "storage_mcm", "storage_pct", "dam_break")
Figures = tuple[dict[str, Latest], dict[timedelta, float], dict[timedelta, float | None], int | None]
ages = st.sampled_from([timedelta(0), 10 * timedelta(minutes=1), 3 * H, 30 * H])


@st.composite
def station(draw: st.DrawFn, sid: str) -> Station:
    kind = draw(st.sampled_from(["rain", "river", "reservoir"]))
    extra: dict[str, object] = {}
    if kind != "rain":
        extra["warning_level"] = draw(st.sampled_from([None, 4.5]))
        extra["guaranteed_level"] = 5.2
    if kind == "reservoir":
        extra["capacity"] = draw(st.sampled_from([None, 2.0]))
    return Station.model_validate({"id": sid, "name": {"en": sid}, "kind": kind, "interval": "1h", **extra})


@st.composite
def figures(draw: st.DrawFn, sid: str) -> Figures:
    """A station's latest values (of any quantity: some it may not measure), window totals, rates and dry days."""
    latest = {q: Latest(NOW - draw(ages), draw(st.floats(0, 300))) for q in draw(st.sets(st.sampled_from(QUANTITIES)))}
    totals = {w: draw(st.floats(0, 300)) for w in WINDOWS if draw(st.booleans())}
    rates = {lb: draw(st.one_of(st.none(), st.floats(-1, 1))) for lb in LOOKBACKS if draw(st.booleans())}
    return latest, totals, rates, draw(st.one_of(st.none(), st.integers(0, 50)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["s1", "s2", "s3", "s4", "s5"]), unique=True).flatmap(
    lambda ids: st.tuples(st.tuples(*[station(i) for i in ids]), st.tuples(*[figures(i) for i in ids]))))
def test_columns_give_each_station_the_snapshot_compose_snapshot_makes(
        drawn: tuple[tuple[Station, ...], tuple[Figures, ...]]) -> None:
    stations, given_figures = drawn
    ids = [s.id for s in stations]
    latest = {sid: f[0] for sid, f in zip(ids, given_figures, strict=True)}
    totals = {w: {sid: f[1][w] for sid, f in zip(ids, given_figures, strict=True) if w in f[1]} for w in WINDOWS}
    rates = {lb: {sid: f[2][lb] for sid, f in zip(ids, given_figures, strict=True) if lb in f[2]} for lb in LOOKBACKS}
    dry = {sid: f[3] for sid, f in zip(ids, given_figures, strict=True)}
    columns = SnapshotColumns.compose(stations, NOW, latest, totals, rates, dry)
    assert list(columns) == ids
    for s in stations:
        # What the database path gives a gauge without rows: 0.0 in every window, None for every lookback.
        want = compose_snapshot(s, NOW, latest[s.id], {w: totals[w].get(s.id, 0.0) for w in WINDOWS},
                                {lb: rates[lb].get(s.id) for lb in LOOKBACKS}, dry[s.id])
        assert columns[s.id] == want, s.id
        assert columns.last[columns.index[s.id]] == want.last_time
    made = {sid: columns[sid] for sid in ids}
    assert reached_levels(RULES, columns, [], NOW) == summarise(evaluate(RULES, made, [], NOW))
    assert reached_levels(RULES, SnapshotColumns.compose(stations, NOW, latest, totals, rates, dry), [], NOW) == \
        reached_levels(RULES, made, [], NOW)
