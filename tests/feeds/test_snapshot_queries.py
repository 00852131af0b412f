"""Bulk snapshots where the shortcuts of the snapshot queries matter, against the pure functions of
responder.domain.derived on SQLite and PostgreSQL: zero rain left out of the sums, gauges that report
only now or only long ago, a zero dry-day threshold, sub-hour windows, a clock set back, wet days found in
each stretch of a long horizon, and days cut at daylight-saving changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from feeds_support import SHANGHAI, station
from sqlalchemy.orm import Session

from responder.domain.derived import SnapshotSpec, build_snapshot
from responder.domain.readings import Reading
from responder.domain.stations import Station
from responder.storage import readings_repo as repo
from responder.storage.readings_repo import station_snapshots

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


@pytest.mark.parametrize("named", [True, False], ids=["few dry stations named", "many dry stations read"])
def test_dry_days_found_in_every_stretch_of_a_long_horizon(session: Session, named: bool,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Wet days are looked for in the last days first and further back only for the stations still dry
    (``_older_wet``): a last wet day in each stretch, on its edges, or none, agrees with the pure functions."""
    if not named:
        monkeypatch.setattr(station_snapshots, "NAMED_STATIONS", 0)
    now = T0 + 25 * M
    today_start = datetime(2027, 7, 2, 16, 0, tzinfo=UTC)  # 00:00 on 3 July in Sanjian
    stations: list[Station] = []
    readings: list[Reading] = []
    for days_ago in (0, 1, 2, 3, 7, 8, 9, 20, 29, 30, 31, 45, 59, 60, 61):
        sid = f"wet-{days_ago}-days-ago"
        stations.append(station(sid, "rain", "county", interval="1h"))
        # Data begins 70 days back (a dry report); 5 mm at 23:30 local that day (today: 02:30); a dry report now.
        wet_at = today_start - days_ago * 24 * H + (2 * H if days_ago == 0 else 23 * H) + 30 * M
        readings.append(Reading(sid, today_start - 70 * 24 * H, "rain_mm", 0.0, "mm", "c"))
        readings.append(Reading(sid, wet_at, "rain_mm", 5.0, "mm", "c"))
        readings.append(Reading(sid, T0, "rain_mm", 0.0, "mm", "c"))
    stations.append(station("starts-10-days-ago", "rain", "county", interval="1h"))
    readings += [Reading("starts-10-days-ago", today_start - 10 * 24 * H + 3 * H, "rain_mm", 0.2, "mm", "c"),
                 Reading("starts-10-days-ago", T0, "rain_mm", 0.0, "mm", "c")]
    stations.append(station("drizzle-daily", "rain", "county", interval="1h"))  # 0.6 mm a day: never wet
    readings += [Reading("drizzle-daily", today_start - d * 24 * H + 6 * H, "rain_mm", 0.6, "mm", "c")
                 for d in range(1, 65)]
    repo.store_readings(session, readings, now)
    spec = SnapshotSpec(windows=(24 * H,), dry_below_mm=1.0, dry_horizon_days=60, zone=SHANGHAI)
    bulk = repo.snapshots(session, stations, now, spec)
    for s in stations:
        assert bulk[s.id].dry_days == build_snapshot(s, readings, now, spec).dry_days, s.id
    assert {s.id: bulk[s.id].dry_days for s in stations} == {
        "wet-0-days-ago": 0, "wet-1-days-ago": 0, "wet-2-days-ago": 1, "wet-3-days-ago": 2, "wet-7-days-ago": 6,
        "wet-8-days-ago": 7, "wet-9-days-ago": 8, "wet-20-days-ago": 19, "wet-29-days-ago": 28,
        "wet-30-days-ago": 29, "wet-31-days-ago": 30, "wet-45-days-ago": 44, "wet-59-days-ago": 58,
        # Beyond the horizon: its data there begins today, as the pure function counts it.
        "wet-60-days-ago": 0, "wet-61-days-ago": 0,
        "starts-10-days-ago": 10, "drizzle-daily": 59}


@pytest.mark.parametrize("now", [datetime(2027, 4, 5, 8, 25, tzinfo=UTC), datetime(2027, 11, 5, 9, 25, tzinfo=UTC)],
                         ids=["after spring forward", "after fall back"])
def test_dry_days_follow_daylight_saving(session: Session, now: datetime) -> None:
    """Days are cut at each day's own local midnight, not at the offset of ``now``: rain just before or after
    midnight on either side of a change lands on the day it fell (Berlin: UTC+1 in winter, +2 in summer)."""
    berlin = ZoneInfo("Europe/Berlin")
    local_now = now.astimezone(berlin)
    stations: list[Station] = []
    readings: list[Reading] = []
    for days_ago in (1, 3, 6, 8, 9, 10, 12, 20, 40):
        day = (local_now - timedelta(days=days_ago)).date()
        for label, at in (("late", time(23, 30)), ("early", time(0, 30))):
            sid = f"{label}-{days_ago}"
            stations.append(station(sid, "rain", "county", interval="1h"))
            wet_at = datetime.combine(day, at, tzinfo=berlin).astimezone(UTC)
            readings += [Reading(sid, now - 50 * 24 * H, "rain_mm", 0.0, "mm", "c"),
                         Reading(sid, wet_at, "rain_mm", 5.0, "mm", "c"),
                         Reading(sid, now - 10 * M, "rain_mm", 0.0, "mm", "c")]
    repo.store_readings(session, readings, now)
    spec = SnapshotSpec(windows=(24 * H,), dry_below_mm=1.0, dry_horizon_days=45, zone=berlin)
    bulk = repo.snapshots(session, stations, now, spec)
    for s in stations:
        assert bulk[s.id].dry_days == build_snapshot(s, readings, now, spec).dry_days, s.id
    assert {s.id: bulk[s.id].dry_days for s in stations if s.id.startswith("late-")} == {
        f"late-{d}": d - 1 for d in (1, 3, 6, 8, 9, 10, 12, 20, 40)}
