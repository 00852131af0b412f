"""SL 323 real-time hydrological database: ST_PPTN_R, ST_RIVER_R and ST_RSVR_R read through SQLAlchemy URLs.

There is no public sample, so the tables are built here from the standard's definitions (a subset of
their columns), in a real SQLite file and, where a server is reachable, in PostgreSQL with the
standard's upper-case names quoted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from feeds_support import NOW, SHANGHAI, feed, station
from sqlalchemy import CHAR, Column, DateTime, MetaData, Numeric, Table, create_engine, insert

from responder.feeds import read_feed

T0 = datetime(2027, 7, 1, 6, 0)  # local (Beijing) time, as TM is stored


def tables(metadata: MetaData) -> dict[str, Table]:
    def key() -> list[Column[object]]:
        return [Column("STCD", CHAR(8), primary_key=True), Column("TM", DateTime, primary_key=True)]

    return {
        "ST_PPTN_R": Table("ST_PPTN_R", metadata, *key(), Column("DRP", Numeric(5, 1)), Column("INTV", Numeric(5, 2)),
                           Column("PDR", Numeric(5, 2)), Column("DYP", Numeric(5, 1)), Column("WTH", CHAR(1))),
        "ST_RIVER_R": Table("ST_RIVER_R", metadata, *key(), Column("Z", Numeric(7, 3)), Column("Q", Numeric(9, 3)),
                            Column("XSA", Numeric(9, 3)), Column("WPTN", CHAR(1))),
        "ST_RSVR_R": Table("ST_RSVR_R", metadata, *key(), Column("RZ", Numeric(7, 3)), Column("INQ", Numeric(9, 3)),
                           Column("W", Numeric(9, 3)), Column("BLRZ", Numeric(7, 3)), Column("OTQ", Numeric(9, 3)),
                           Column("RWPTN", CHAR(1))),
    }


def build(url: str, skip: tuple[str, ...] = ()) -> None:
    engine = create_engine(url)
    metadata = MetaData()
    made = {name: table for name, table in tables(metadata).items() if name not in skip}
    metadata.create_all(engine, tables=list(made.values()))
    hour = timedelta(hours=1)

    def rows(table: Table, *given: dict[str, object]) -> list[dict[str, object]]:
        return [{c.name: row.get(c.name) for c in table.columns} for row in given]

    with engine.begin() as conn:
        if "ST_PPTN_R" in made:
            conn.execute(insert(made["ST_PPTN_R"]), rows(
                made["ST_PPTN_R"],
                {"STCD": "60812400", "TM": T0, "DRP": 12.5, "INTV": 1.00, "WTH": "7"},
                {"STCD": "60812400", "TM": T0 + hour, "DRP": 31.0, "INTV": 1.00, "WTH": "7"},
                {"STCD": "60812400", "TM": T0 + 2 * hour, "DRP": None, "INTV": 1.00, "WTH": "7"},
                {"STCD": "60812400", "TM": T0 + 6 * hour, "DRP": 3.0, "INTV": 1.00},       # in the future
                {"STCD": "60812499", "TM": T0 + hour, "DRP": 80.0, "INTV": 1.00},          # not our station
            ))
        if "ST_RIVER_R" in made:
            conn.execute(insert(made["ST_RIVER_R"]), rows(
                made["ST_RIVER_R"],
                *({"STCD": "60812300", "TM": T0 + i * hour, "Z": 3.9 + 0.2 * i, "Q": 120 + 30 * i, "WPTN": "5"}
                  for i in range(3)),
                {"STCD": "60812300", "TM": T0 - 30 * hour, "Z": 2.1, "Q": 50.0}))
        if "ST_RSVR_R" in made:
            conn.execute(insert(made["ST_RSVR_R"]), rows(
                made["ST_RSVR_R"],
                {"STCD": "60812500", "TM": T0, "RZ": 312.4, "INQ": 1.2, "W": 0.031, "OTQ": None, "RWPTN": "6"},
                {"STCD": "60812500", "TM": T0 + hour, "RZ": 312.45, "INQ": 1.5, "W": 250000.0, "OTQ": 0.2}))
    engine.dispose()


STATIONS = [station("rain-yuquanzi", "rain", "hydro", "60812400"),
            station("longhe-town", "river", "hydro", "60812300", warning_level=4.5),
            station("pond-liaojiaba", "reservoir", "hydro", "60812500", capacity=0.12,
                    quantities=["stage_m", "storage_mcm", "inflow_m3s", "outflow_m3s"])]


def got(result: object) -> list[tuple[str, str, str, float]]:
    return sorted((r.station, r.quantity, r.time.isoformat(), round(r.value, 3))
                  for r in result.readings)  # type: ignore[attr-defined]


EXPECTED = [
    ("longhe-town", "flow_m3s", "2027-06-30T22:00:00+00:00", 120.0),
    ("longhe-town", "flow_m3s", "2027-06-30T23:00:00+00:00", 150.0),
    ("longhe-town", "flow_m3s", "2027-07-01T00:00:00+00:00", 180.0),
    ("longhe-town", "stage_m", "2027-06-30T22:00:00+00:00", 3.9),
    ("longhe-town", "stage_m", "2027-06-30T23:00:00+00:00", 4.1),
    ("longhe-town", "stage_m", "2027-07-01T00:00:00+00:00", 4.3),
    ("pond-liaojiaba", "inflow_m3s", "2027-06-30T22:00:00+00:00", 1.2),
    ("pond-liaojiaba", "inflow_m3s", "2027-06-30T23:00:00+00:00", 1.5),
    ("pond-liaojiaba", "outflow_m3s", "2027-06-30T23:00:00+00:00", 0.2),
    ("pond-liaojiaba", "stage_m", "2027-06-30T22:00:00+00:00", 312.4),
    ("pond-liaojiaba", "stage_m", "2027-06-30T23:00:00+00:00", 312.45),
    ("pond-liaojiaba", "storage_mcm", "2027-06-30T22:00:00+00:00", 0.031),
    ("rain-yuquanzi", "rain_mm", "2027-06-30T22:00:00+00:00", 12.5),
    ("rain-yuquanzi", "rain_mm", "2027-06-30T23:00:00+00:00", 31.0),
]


def hydro(url: str, **extra: object) -> object:
    return feed("hydro", "sl323", database_url=url, timezone="Asia/Shanghai", **extra)


def test_the_three_tables_are_read_from_a_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sl323.db'}"
    build(url)
    result = read_feed(hydro(url), STATIONS, NOW)  # type: ignore[arg-type]
    assert result.error is None
    assert got(result) == EXPECTED                  # the row 30 h old is beyond the default 1-day lookback
    assert result.missing == 2                      # DRP and OTQ NULL
    reasons = sorted(r.reason for r in result.rejected)
    assert reasons[0].startswith("250000 10^6 m3 is outside the physical bounds")
    assert reasons[1] == "time 2027-07-01T04:00:00+00:00 is in the future"
    assert all(r.location and r.location.startswith("ST_") for r in result.rejected)


def test_only_rows_after_since_are_read(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sl323.db'}"
    build(url)
    since = datetime(2027, 7, 1, 7, 0, tzinfo=SHANGHAI)
    result = read_feed(hydro(url), STATIONS, NOW, since=since)  # type: ignore[arg-type]
    assert {r.time for r in result.readings} == {since + timedelta(hours=1)}
    everything = read_feed(hydro(url, lookback="3d"), STATIONS, NOW)  # type: ignore[arg-type]
    assert len(everything.readings) == len(EXPECTED) + 2


def test_a_missing_table_is_a_feed_error_and_the_other_tables_are_still_read(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sl323.db'}"
    build(url, skip=("ST_RSVR_R",))
    result = read_feed(hydro(url), STATIONS, NOW)  # type: ignore[arg-type]
    assert result.error == "table ST_RSVR_R is missing from the database"
    assert {r.station for r in result.readings} == {"rain-yuquanzi", "longhe-town"}


def test_a_changed_schema_an_absent_file_and_a_bad_url_are_feed_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'changed.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE st_pptn_r (STCD CHAR(8), OBSTIME DATETIME, DRP NUMERIC(5,1))")
    engine.dispose()
    rain = STATIONS[:1]
    assert read_feed(hydro(url), rain, NOW).error == "changed schema: ST_PPTN_R has no column TM"  # type: ignore[arg-type]
    absent = tmp_path / "absent.db"
    assert read_feed(hydro(f"sqlite:///{absent}"), rain, NOW).error == f"database file not found: {absent}"  # type: ignore[arg-type]
    assert not absent.exists()
    bad = read_feed(hydro("nosuchdb://x/y"), rain, NOW)  # type: ignore[arg-type]
    assert bad.error is not None and bad.error.startswith("cannot use database URL")
    down = read_feed(hydro("postgresql+psycopg://nobody@127.0.0.1:9/none", timeout="2s"), rain, NOW)  # type: ignore[arg-type]
    assert down.error is not None and down.error.startswith("database error")


@pytest.mark.postgres
def test_upper_case_quoted_tables_in_postgresql(pg_url: str) -> None:
    build(pg_url)
    result = read_feed(hydro(pg_url), STATIONS, NOW)  # type: ignore[arg-type]
    assert result.error is None and got(result) == EXPECTED
