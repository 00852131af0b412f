"""Each rain gauge's dry-day state, kept as readings are stored (``readings_repo.rain_state``), on SQLite and
PostgreSQL: what storing batches in any order leaves is what a rebuild from the hourly totals gives, and the
snapshots read from it agree with the pure functions and with the old way of summing the hourly totals."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from feeds_support import SHANGHAI, station
from sqlalchemy import delete
from sqlalchemy.orm import Session

from responder.domain.derived import SnapshotSpec, build_snapshot
from responder.domain.readings import Reading
from responder.domain.stations import Station
from responder.storage import readings_repo as repo
from responder.storage.feed_models import StateBasisRow
from responder.storage.readings_repo import rain_state
from responder.storage.readings_repo.local_days import LocalDays

H = timedelta(hours=1)
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 4, 5, 8, 25, tzinfo=UTC)  # a week after spring forward in Berlin


def history(seed: int) -> tuple[list[Station], list[list[Reading]]]:
    """Gauges over 70 days (wet spells, droughts, gaps, zeros only, one that starts late, one that stops),
    as feed batches of six hours; a few batches arrive days late and one twice."""
    rng = random.Random(seed)
    stations = [station(f"g{i}", "rain", "county", interval="1h") for i in range(8)]
    start = NOW - 70 * 24 * H
    readings: list[Reading] = []
    for i, s in enumerate(stations):
        first = start + (40 * 24 * H if i == 6 else 0 * H)
        last = NOW - (30 * 24 * H if i == 7 else 0 * H)
        t = first + rng.randrange(60) * timedelta(minutes=1)
        while t <= last:
            if rng.random() < 0.85:  # gaps
                wet = i != 5 and rng.random() < (0.02 if i in (3, 4) else 0.15)
                readings.append(Reading(s.id, t, "rain_mm", round(rng.uniform(0.1, 3.0), 1) if wet else 0.0, "mm",
                                        "c"))
            t += H
    batches: dict[int, list[Reading]] = {}
    for r in readings:
        batches.setdefault(int((r.time - start) / (6 * H)), []).append(r)
    ordered = [batches[k] for k in sorted(batches)]
    late = rng.sample(range(len(ordered) - 10), 6)
    arriving = [b for k, b in enumerate(ordered) if k not in late]
    for k in late:  # back-filled a few days after
        arriving.insert(min(len(arriving), k + rng.randrange(4, 20)), ordered[k])
    arriving.append(ordered[len(ordered) // 2])  # and one again (duplicates)
    return stations, arriving


def _state(session: Session) -> dict[str, tuple[int, float, int | None, int]]:
    got = rain_state.read(session, *_basis(session))
    assert got is not None
    return {sid: (s.day, round(s.day_total, 6), s.wet_before, s.first_day) for sid, s in got.items()}


def _basis(session: Session) -> tuple[ZoneInfo, float]:
    kept = rain_state.basis(session)
    assert kept is not None
    return kept.zone, kept.dry_below_mm  # type: ignore[return-value]


@pytest.mark.parametrize(("zone", "below", "seed"), [(BERLIN, 1.0, 1), (SHANGHAI, 1.0, 2), (BERLIN, 0.5, 3)])
def test_state_kept_batch_by_batch_is_what_a_rebuild_gives(session: Session, zone: ZoneInfo, below: float,
                                                            seed: int) -> None:
    stations, batches = history(seed)
    assert repo.rebuild_state(session, zone, below) == 0  # an empty database: kept from the first reading on
    for batch in batches:
        repo.store_readings(session, batch, NOW)
    kept = _state(session)
    assert len(kept) == len(stations)
    assert repo.rebuild_state(session, zone, below) == len(stations)
    assert _state(session) == kept

    readings = [r for batch in batches for r in batch]
    spec = SnapshotSpec(windows=(H, 24 * H), dry_below_mm=below, dry_horizon_days=45, zone=zone)
    for now in (NOW, NOW - 3 * 24 * H + 17 * timedelta(minutes=1), NOW - 29 * 24 * H):
        from_state = repo.snapshots(session, stations, now, spec)
        days = LocalDays(now, spec)
        told = rain_state.dry_days(rain_state.read(session, zone, below) or {}, days.today, days.first, below)
        assert (told is not None) == (now == NOW)  # earlier, rain stored after ``now``: summed the old way
        if told is not None:
            assert told[1], "the gauge that never rains counts from its first day in the horizon"
        for s in stations:
            want = build_snapshot(s, readings, now, spec)
            assert from_state[s.id].dry_days == want.dry_days, f"{s.id} at {now}"
            assert from_state[s.id].totals == pytest.approx(want.totals), f"{s.id} at {now}"


def test_without_the_state_or_for_another_zone_the_hourly_totals_are_summed_as_before(session: Session) -> None:
    stations, batches = history(4)
    repo.rebuild_state(session, BERLIN, 1.0)
    for batch in batches:
        repo.store_readings(session, batch, NOW)
    spec = SnapshotSpec(windows=(24 * H,), dry_horizon_days=45, zone=BERLIN)
    kept = repo.snapshots(session, stations, NOW, spec)
    other = SnapshotSpec(windows=(24 * H,), dry_horizon_days=45, zone=SHANGHAI)
    assert rain_state.read(session, SHANGHAI, 1.0) is None  # another plan's calendar: not used
    readings = [r for batch in batches for r in batch]
    assert {s.id: kept[s.id].dry_days for s in stations} == {
        s.id: build_snapshot(s, readings, NOW, spec).dry_days for s in stations}
    shanghai = repo.snapshots(session, stations, NOW, other)
    assert {s.id: shanghai[s.id].dry_days for s in stations} == {
        s.id: build_snapshot(s, readings, NOW, other).dry_days for s in stations}
    session.execute(delete(StateBasisRow))
    assert repo.snapshots(session, stations, NOW, spec) == kept
    for batch in batches[:3]:  # not kept any more: storing leaves the state rows alone
        repo.store_readings(session, batch, NOW)
    assert rain_state.basis(session) is None


def test_a_day_made_wet_by_a_late_batch_counts(session: Session) -> None:
    gauge = station("late", "rain", "county", interval="1h")
    repo.rebuild_state(session, SHANGHAI, 1.0)
    day = datetime(2027, 7, 1, 4, 0, tzinfo=UTC)  # noon in Sanjian
    for d in range(6):
        repo.store_readings(session, [Reading("late", day + d * 24 * H, "rain_mm", 0.5, "mm", "c")], NOW)
    spec = SnapshotSpec(windows=(24 * H,), dry_horizon_days=30, zone=SHANGHAI)
    now = day + 5 * 24 * H + H
    assert repo.snapshots(session, [gauge], now, spec)["late"].dry_days == 5
    repo.store_readings(session, [Reading("late", day + 2 * 24 * H + H, "rain_mm", 0.6, "mm", "c")], now)
    assert repo.snapshots(session, [gauge], now, spec)["late"].dry_days == 2
    assert _state(session)["late"] == (rain_state.local_day(day + 5 * 24 * H, SHANGHAI), 0.5,
                                       rain_state.local_day(day + 2 * 24 * H, SHANGHAI),
                                       rain_state.local_day(day, SHANGHAI))
