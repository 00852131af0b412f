"""Readings storage on real SQLite and PostgreSQL: de-duplication, conflicts, quarantine, and bulk snapshots
that agree with the pure functions of responder.domain.derived."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from feeds_support import SHANGHAI, station
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from responder.domain.derived import SnapshotSpec, build_snapshot
from responder.domain.readings import Reading, Rejected, Series
from responder.domain.rules import HazardState, ManualReport
from responder.storage import readings_repo as repo
from responder.storage.feed_models import (
    FeedStatusRow,
    QuarantineRow,
    ReadingConflictRow,
    ReadingHourRow,
    ReadingLatestRow,
    ReadingRow,
)

T0 = datetime(2027, 7, 1, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)


def rain(station_id: str, minutes: float, value: float) -> Reading:
    return Reading(station_id, T0 + timedelta(minutes=minutes), "rain_mm", value, "mm", "county")


def test_a_reading_is_kept_once_and_a_different_value_is_recorded_as_a_conflict(session: Session) -> None:
    first = [rain("r1", 0, 1.5), rain("r1", 5, 2.0), rain("r2", 0, 0.0)]
    assert repo.store_readings(session, first, T0) == (3, 0, 0)
    again = [rain("r1", 0, 1.5), rain("r1", 5, 2.5), rain("r1", 10, 3.0), rain("r1", 10, 3.0), rain("r1", 10, 4.0)]
    assert repo.store_readings(session, again, T0 + H) == (1, 2, 2)
    assert repo.store_readings(session, again, T0 + 2 * H) == (0, 3, 2)       # a conflict is recorded once
    stored = {(r.station, r.time): r.value for r in session.scalars(select(ReadingRow))}
    assert stored[("r1", T0 + timedelta(minutes=5))] == 2.0                  # the stored value stays
    conflicts = {(c.time, c.stored_value, c.conflicting_value) for c in session.scalars(select(ReadingConflictRow))}
    assert conflicts == {(T0 + timedelta(minutes=5), 2.0, 2.5), (T0 + timedelta(minutes=10), 3.0, 4.0)}
    hours = {(h.station, h.hour): (h.total, h.count) for h in session.scalars(select(ReadingHourRow))}
    assert hours == {("r1", repo.epoch(T0)): (1.5, 1), ("r1", repo.epoch(T0 + H)): (5.0, 2),
                     ("r2", repo.epoch(T0)): (0.0, 1)}
    latest = {(r.station, r.quantity): (r.time, r.value) for r in session.scalars(select(ReadingLatestRow))}
    assert latest[("r1", "rain_mm")] == (T0 + timedelta(minutes=10), 3.0)
    assert repo.store_readings(session, [rain("r1", -60, 9.0)], T0) == (1, 0, 0)  # late data: latest unchanged
    assert session.get(ReadingLatestRow, ("r1", "rain_mm")).value == 3.0  # type: ignore[union-attr]
    assert repo.readings_of(session, "r1", "rain_mm", T0 - 2 * H, T0) == [rain("r1", -60, 9.0), rain("r1", 0, 1.5)]
    assert repo.store_readings(session, [], T0) == (0, 0, 0)


def test_only_rain_gets_hourly_totals_every_quantity_a_latest_value(session: Session) -> None:
    stage = [Reading("river-h", T0 + timedelta(minutes=m), "stage_m", 4.0 + m / 100, "m", "county") for m in (5, 10)]
    assert repo.store_readings(session, [*stage, rain("rain-h", 5, 2.0)], T0 + H) == (3, 0, 0)
    hours = {(h.station, h.quantity) for h in session.scalars(select(ReadingHourRow))}
    assert hours == {("rain-h", "rain_mm")}
    latest = {(r.station, r.quantity): r.value for r in session.scalars(select(ReadingLatestRow))}
    assert latest == {("river-h", "stage_m"): 4.1, ("rain-h", "rain_mm"): 2.0}


def test_quarantine_keeps_each_bad_row_once_and_counts_repeats(session: Session) -> None:
    bad = [Rejected("60819999,2027-07-01 08:00,3.0", "unknown station '60819999'", "county", None, "line 8"),
           Rejected("60812410,2027-07-01 07:00,abc", "'abc' is not a number", "county", "rain-2", "line 6")]
    assert repo.quarantine(session, bad, T0) == 2
    assert repo.quarantine(session, bad[:1], T0 + H) == 1
    rows = repo.quarantined(session)
    assert [(r.reason, r.times_seen, r.at, r.last_seen_at) for r in rows] == [
        ("unknown station '60819999'", 2, T0, T0 + H), ("'abc' is not a number", 1, T0, T0)]
    assert [r.station for r in repo.quarantined(session, feed="county", limit=1)] == [None]
    assert session.scalar(select(func.count()).select_from(QuarantineRow)) == 2


def test_rule_state_reports_and_feed_status_round_trip(session: Session) -> None:
    state = {"flood": HazardState({2: T0}, {2: T0, 3: T0, 4: T0}, T0, 2, 2, (2, 3), "rain-24h"),
             "drought": HazardState()}
    repo.save_rule_state(session, state, T0)
    repo.save_rule_state(session, state, T0 + H)
    assert repo.load_rule_state(session) == state
    report = ManualReport("drinking_water", T0 - H, 150, "Liaojiaba", "V201", None, "wells dry")
    assert repo.add_report(session, report, T0) > 0
    repo.add_report(session, ManualReport("dam_break", T0 - 10 * 24 * H, by="O003"), T0)
    assert repo.recent_reports(session, T0) == [report]
    repo.record_feed_status(session, "feed", "county", "HTTP 500", T0)
    row = repo.record_feed_status(session, "feed", "county", None, T0 + H)
    assert (row.last_ok_at, row.last_error, row.last_error_at) == (T0 + H, "HTTP 500", T0)
    assert session.get(FeedStatusRow, ("feed", "county")) is row


def series(rng: random.Random, start: datetime, end: datetime) -> list[datetime]:
    """Irregular report times: mostly every 5 minutes, with gaps and the odd second."""
    times, t = [], start
    while t < end:
        times.append(t)
        t += timedelta(minutes=rng.choice([5, 5, 5, 10, 15, 60]), seconds=rng.choice([0, 0, 0, 17]))
    return times


def test_bulk_snapshots_agree_with_the_pure_functions(session: Session) -> None:
    rng = random.Random(20270701)
    stations = [station(f"rain-{i}", "rain", "county", interval="15m") for i in range(3)]
    stations += [station(f"river-{i}", "river", "county", warning_level=4.5, guaranteed_level=5.2, interval="10m")
                 for i in range(2)]
    stations.append(station("pond", "reservoir", "duty", capacity=0.12, interval="1d"))
    start, end = T0 - 5 * 24 * H, T0 + 3 * H
    readings: list[Reading] = []
    for s in stations[:3]:
        for t in series(rng, start, end):
            wet = rng.random() < 0.15 or t > T0 - 6 * H
            readings.append(Reading(s.id, t, "rain_mm", round(rng.uniform(0, 9), 1) if wet else 0.0, "mm", "c"))
    for s in stations[3:5]:
        level = 3.0
        for t in series(rng, start, end):
            level = max(0.5, level + rng.uniform(-0.05, 0.08))
            readings.append(Reading(s.id, t, "stage_m", round(level, 3), "m", "c"))
    readings.append(Reading("pond", T0 - 5 * H, "storage_mcm", 0.045, "10^6 m3", "duty"))
    rng.shuffle(readings)
    for part in range(0, len(readings), 700):               # arrives in several cycles, out of order
        repo.store_readings(session, readings[part:part + 700], T0)
    spec = SnapshotSpec(windows=(H, 3 * H, 6 * H, 24 * H, timedelta(minutes=90)),
                        lookbacks=(H, timedelta(minutes=30)), dry_below_mm=1.0, dry_horizon_days=4, zone=SHANGHAI)
    moments = [T0, T0 - timedelta(minutes=23, seconds=11), T0 - 16 * H + timedelta(minutes=7), T0 + 5 * H]
    for now in moments:                                      # on the hour, mid-hour, a clock set back, after data
        bulk = repo.snapshots(session, stations, now, spec)
        for s in stations:
            want = build_snapshot(s, readings, now, spec)
            got = bulk[s.id]
            where = f"{s.id} at {now}"
            assert got.latest == want.latest, where
            assert got.totals.keys() == want.totals.keys(), where
            for w in want.totals:
                assert got.totals[w] == pytest.approx(want.totals[w], abs=1e-6), f"{where} window {w}"
            for lb, rate in want.rates.items():
                assert (got.rates[lb] is None) == (rate is None), where
                if rate is not None:
                    assert got.rates[lb] == pytest.approx(rate, rel=1e-6, abs=1e-9), where
            assert (got.dry_days, got.stale, got.margin, got.storage_pct) == \
                (want.dry_days, want.stale, want.margin, want.storage_pct), where
    snap = repo.snapshots(session, stations, T0, spec)["pond"]
    assert snap.storage_pct == pytest.approx(37.5) and not snap.stale


def test_snapshots_of_stations_without_data(session: Session) -> None:
    lonely = [station("rain-x", "rain", "county"), station("river-x", "river", "county", warning_level=4.0)]
    snaps = repo.snapshots(session, lonely, T0)
    assert snaps["rain-x"].stale and snaps["rain-x"].totals[24 * H] == 0.0 and snaps["rain-x"].dry_days is None
    assert snaps["river-x"].value is None and snaps["river-x"].rate_of_rise is None


def _tables(session: Session, prefix: str) -> tuple[object, ...]:
    """Everything store_* wrote for stations starting with ``prefix``, with the prefix cut off."""
    def own(rows: object) -> list[tuple[object, ...]]:
        return sorted((r[0][len(prefix):], *r[1:]) for r in rows if r[0].startswith(prefix))  # type: ignore[attr-defined]

    return (own(session.execute(select(ReadingRow.station, ReadingRow.quantity, ReadingRow.time, ReadingRow.value,
                                       ReadingRow.source))),
            own(session.execute(select(ReadingHourRow.station, ReadingHourRow.hour, ReadingHourRow.total,
                                       ReadingHourRow.count))),
            own(session.execute(select(ReadingLatestRow.station, ReadingLatestRow.time, ReadingLatestRow.value))),
            own(session.execute(select(ReadingConflictRow.station, ReadingConflictRow.time,
                                       ReadingConflictRow.stored_value, ReadingConflictRow.conflicting_value))))


def test_whole_series_are_stored_exactly_as_the_same_readings_one_by_one(session: Session) -> None:
    t0 = repo.epoch(T0)

    def series(station: str, minutes: list[int], values: list[float]) -> Series:
        return Series(station, "rain_mm", "mm", "county", [t0 + 60 * m for m in minutes], values)

    batches = [
        [series("r1", [0, 5, 55, 65], [1.5, 2.0, 0.5, 1.0]), series("r2", [0], [0.0])],
        [series("r1", [0, 5, 10], [1.5, 2.5, 3.0])],                               # a duplicate, a conflict, a new one
        [series("r1", [10, 15], [3.0, 4.0]), series("r1", [15], [4.5])],            # the same station twice in a call
        [series("r1", [-60], [9.0])],                                               # late data
        [],
    ]
    for batch in batches:
        as_series = repo.store_series(session, [s._replace(station="s-" + s.station) for s in batch], T0)
        one_by_one = repo.store_readings(session, [replace(r, station="o-" + r.station)
                                                   for s in batch for r in s.readings()], T0)
        assert as_series == one_by_one
    assert _tables(session, "s-") == _tables(session, "o-")
    assert _tables(session, "s-")[0]  # and something was stored
