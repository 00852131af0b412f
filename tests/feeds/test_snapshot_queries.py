"""Bulk snapshots where the shortcuts of the snapshot queries matter, against the pure functions of
responder.domain.derived on SQLite and PostgreSQL: zero rain left out of the sums, gauges that report
only now or only long ago, a zero dry-day threshold, sub-hour windows, a clock set back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from feeds_support import SHANGHAI, station
from sqlalchemy.orm import Session

from responder.domain.derived import SnapshotSpec, build_snapshot
from responder.domain.readings import Reading
from responder.domain.stations import Station
from responder.storage import readings_repo as repo

T0 = datetime(2027, 7, 3, 2, 0, tzinfo=UTC)  # 10:00 in Sanjian
H = timedelta(hours=1)
M = timedelta(minutes=1)


def every(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    t = start
    while t <= end:
        yield t
        t += step


def gauges() -> tuple[list[Station], list[Reading]]:
    stations = [station(sid, "rain", "county", interval="10m")
                for sid in ("zeros", "long-ago", "only-now", "this-morning", "hours-ago", "silent")]
    # Its hour-long interval lets a clock set back find the latest rain within staleness reach (2 h).
    stations.append(station("river", "river", "county", warning_level=4.5, interval="1h"))
    readings: list[Reading] = []

    def rain(sid: str, when: datetime, mm: float) -> None:
        readings.append(Reading(sid, when, "rain_mm", mm, "mm", "c"))

    for t in every(T0 - 3 * 24 * H, T0 + 2 * H, 10 * M):
        rain("zeros", t, 0.0)                                       # reports all along, never rains
        rain("this-morning", t, 2.5 if T0 - 3 * H < t <= T0 + H else 0.0)
    for t in every(T0 - 50 * H, T0 - 40 * H, 10 * M):
        rain("long-ago", t, 0.4)                                    # two days ago, then silent
    for t in every(T0 - 5 * H, T0 - 3 * H, 10 * M):
        rain("hours-ago", t, 1.2)                                   # nothing in the last three hours
    rain("only-now", T0 + 20 * M, 0.0)                              # first report ever, in a partial hour
    rain("only-now", T0 + 2 * H + 5 * M, 0.0)                       # and one after the moments below
    for i, t in enumerate(every(T0 - 6 * H, T0 + 2 * H, 5 * M)):
        readings.append(Reading("river", t, "stage_m", 3.0 + 0.01 * i, "m", "c"))
    return stations, readings


@pytest.mark.parametrize("below", [1.0, 0.0])
def test_sparse_and_zero_rain_agree_with_the_pure_functions(session: Session, below: float) -> None:
    stations, readings = gauges()
    repo.store_readings(session, readings, T0 + 3 * H)
    spec = SnapshotSpec(windows=(30 * M, H, 3 * H, 24 * H), lookbacks=(H,), dry_below_mm=below, dry_horizon_days=3,
                        zone=SHANGHAI)
    moments = [T0, T0 + 25 * M, T0 + 59 * M + 59 * timedelta(seconds=1), T0 + 2 * H, T0 - 20 * H + 7 * M,
               T0 - 2 * H + 15 * M]  # on the hour, mid-hour, just before one, ..., clocks set back
    for now in moments:
        bulk = repo.snapshots(session, stations, now, spec)
        for s in stations:
            want, got, where = build_snapshot(s, readings, now, spec), bulk[s.id], f"{s.id} at {now}"
            assert got.latest == want.latest, where
            assert list(got.totals) == list(want.totals), where
            for w, total in want.totals.items():
                assert got.totals[w] == pytest.approx(total, abs=1e-9), f"{where} window {w}"
            assert got.rates.keys() == want.rates.keys(), where
            for lb, rate in want.rates.items():
                assert got.rates[lb] == (None if rate is None else pytest.approx(rate, rel=1e-9)), where
            assert (got.dry_days, got.stale, got.margin) == (want.dry_days, want.stale, want.margin), where


def test_the_cases_above_are_the_ones_meant(session: Session) -> None:
    """Guards the fixture: each gauge shows what it is there for."""
    stations, readings = gauges()
    repo.store_readings(session, readings, T0 + 3 * H)
    spec = SnapshotSpec(windows=(H, 24 * H), dry_horizon_days=3, zone=SHANGHAI)
    snaps = repo.snapshots(session, stations, T0 + 25 * M, spec)
    assert snaps["zeros"].totals == {H: 0.0, 24 * H: 0.0} and snaps["zeros"].dry_days == 2
    assert snaps["long-ago"].totals[H] == 0.0 and snaps["long-ago"].dry_days == 1  # wet the day before yesterday
    assert snaps["only-now"].dry_days == 0 and snaps["only-now"].totals[H] == 0.0
    assert snaps["this-morning"].dry_days == 0 and snaps["this-morning"].totals[H] == pytest.approx(15.0)
    assert snaps["hours-ago"].totals == {H: 0.0, 24 * H: pytest.approx(15.6)}
    assert snaps["silent"].dry_days is None and snaps["silent"].totals[24 * H] == 0.0
    assert snaps["river"].rates[H] == pytest.approx(0.12)
