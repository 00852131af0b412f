"""Issue 18 (point 2): the large drill's ingest alone, ``store_series`` over its 289 batches, on SQLite and
PostgreSQL.

The batches are captured once from a real run of the large drill (``bench_drill.build``: 1,000 stations every
5 minutes, 72 h) and kept in a pickle (``--batches``); each run replays them, one transaction each as the drill
stores them, into a fresh database set up as the drill's (migrations, the gauges' state kept), and reports the
CPU time of ``store_series`` alone and a digest of what was stored (readings, hourly totals, latest values,
gauges' state), which must not change with the code. ``--profile`` prints the top cProfile entries.

Run: .venv/bin/python benchmarks/bench_ingest.py [--engines sqlite,postgresql] [--profile] [--repeat 3]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import pickle
import pstats
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_drill  # noqa: E402

from responder.domain.readings import Series  # noqa: E402
from responder.settings import Settings  # noqa: E402
from responder.wiring import AppContext  # noqa: E402

Batches = list[tuple[datetime, list[Series]]]
TABLES = {"readings": "station, quantity, time, value, unit, source",
          "reading_hours": "station, quantity, hour, total, count",
          "reading_latest": "station, quantity, time, value, source",
          "rain_state": "station, day, day_total, wet_before, first_day"}


def settings(folder: Path) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{folder / 'unused.db'}",  # type: ignore[call-arg]
                    plan_file=folder / "config" / "plan.yaml", roster_file=folder / "contacts" / "roster.csv")


def capture(folder: Path, scenario: Path, path: Path) -> None:
    """Run the large drill once with ``store_series`` recording its calls."""
    from responder.drills.run import run_scenario
    from responder.storage import readings_repo

    batches: Batches = []
    original = readings_repo.store_series

    def recording(session: Any, series: list[Series], now: datetime) -> Any:
        batches.append((now, list(series)))  # kept as they come: series on the same ticks share one list of times
        return original(session, series, now)

    readings_repo.store_series = recording  # type: ignore[assignment]
    try:
        run_scenario(AppContext(settings(folder)), scenario, folder / "out")
    finally:
        readings_repo.store_series = original  # type: ignore[assignment]
    path.write_bytes(pickle.dumps(batches, protocol=pickle.HIGHEST_PROTOCOL))


def replay(folder: Path, batches: Batches, url: str | None, profile: bool) -> tuple[float, float, str]:
    """CPU and wall seconds in ``store_series`` (and its commit) over every batch, and the digest of the stored
    tables. On PostgreSQL the server's own work shows in the wall time only."""
    from responder.app.setup import init_database, rebuild_state
    from responder.domain.clock import FakeClock
    from responder.drills.run import drill_context
    from responder.storage import readings_repo
    from responder.storage.db import make_engine, transaction

    ctx = AppContext(settings(folder))
    engine = None if url is None else make_engine(url)
    drill = drill_context(ctx, url or "sqlite://", FakeClock(batches[0][0]), engine)
    init_database(drill)
    rebuild_state(drill)
    profiler = cProfile.Profile() if profile else None
    cpu = wall = 0.0
    for now, series in batches:
        start, started = time.process_time(), time.perf_counter()
        with transaction(drill.sessions) as session:
            if profiler:
                profiler.enable()
            readings_repo.store_series(session, series, now)
            if profiler:
                profiler.disable()
        cpu += time.process_time() - start
        wall += time.perf_counter() - started
    digest = hashlib.sha256()
    with drill.engine.connect() as connection:
        for table, columns in TABLES.items():
            for row in connection.exec_driver_sql(f"SELECT {columns} FROM {table} ORDER BY {columns}"):
                digest.update(repr(tuple(round(v, 9) if isinstance(v, float) else v for v in row)).encode())
    drill.engine.dispose()
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
    return cpu, wall, digest.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=Path, default=Path(tempfile.gettempdir()) / "bench_ingest_batches.pkl")
    parser.add_argument("--engines", default="sqlite")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--limit", type=int, default=0, help="replay only the first LIMIT batches")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bench"
        scenario = bench_drill.build(folder, 1000, 2000)
        if not args.batches.exists():
            print(f"capturing the large drill's batches into {args.batches} ...", flush=True)
            capture(folder, scenario, args.batches)
        batches: Batches = pickle.loads(args.batches.read_bytes())
        if args.limit:
            batches = batches[:args.limit]
        gc.freeze()  # the batches stay to the end: the collector need not go through them (a drill makes its own)
        readings = sum(len(s.times) for _, series in batches for s in series)
        print(f"{len(batches)} batches, {readings:,} readings")
        print("| engine | store_series CPU s | wall s | stored digest |\n| --- | --- | --- | --- |")
        for engine in args.engines.split(","):
            for _ in range(args.repeat):
                url = drop = None
                if engine == "postgresql":
                    import psycopg

                    drop = f"bench_ingest_{uuid.uuid4().hex[:8]}"
                    with psycopg.connect(bench_drill.PG_ADMIN, autocommit=True) as conn:
                        conn.execute(f'CREATE DATABASE "{drop}"')
                    url = f"postgresql://postgres@127.0.0.1:5432/{drop}"
                try:
                    cpu, wall, digest = replay(folder, batches, url, args.profile)
                finally:
                    if drop:
                        import psycopg

                        with psycopg.connect(bench_drill.PG_ADMIN, autocommit=True) as conn:
                            conn.execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
                print(f"| {engine} | {cpu:.2f} | {wall:.2f} | {digest} |", flush=True)


if __name__ == "__main__":
    main()
