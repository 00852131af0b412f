"""Issue 6 benchmark: one evaluation cycle over N stations with 24 h of 5-minute readings each
(``--history-days 60``: and the hourly rain totals of a full dry-day horizon before them).

Target: < 1 s for 10,000 stations on SQLite and on PostgreSQL. The reference row is the same cycle
over a tenth of the stations, in the same run. Run on demand:

    .venv/bin/python benchmarks/bench_feed_cycle.py [--stations 10000] [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from responder.configfiles.plan_file import read_plan  # noqa: E402
from responder.domain.readings import Reading  # noqa: E402
from responder.domain.rules import decide_evaluated, reached_levels, snapshot_spec  # noqa: E402
from responder.domain.stations import Station  # noqa: E402
from responder.storage import readings_repo as repo  # noqa: E402
from responder.storage.db import make_engine, session_factory, transaction  # noqa: E402
from responder.storage.migrate import upgrade  # noqa: E402

NOW = datetime(2027, 7, 11, 0, 0, tzinfo=UTC)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def stations(n: int) -> list[Station]:
    half = n // 2
    return [Station(id=f"rain-{i:05d}", name={"en": "r"}, kind="rain", feed="county-rain", interval="5m")
            for i in range(half)] + [
        Station(id=f"river-{i:05d}", name={"en": "g"}, kind="river", feed="county-river", interval="5m",
                warning_level=4.5, guaranteed_level=5.2) for i in range(n - half)]


def fill(url: str, all_stations: list[Station], below: float) -> None:
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:  # what `responder init` does: the state is kept from the start
        repo.rebuild_state(session, UTC, below)
    for step in range(288, -1, -1):  # 24 h of 5-minute readings, oldest first, one feed cycle at a time
        when = NOW - timedelta(minutes=5 * step)
        batch = [Reading(s.id, when, "rain_mm" if s.kind == "rain" else "stage_m",
                         (i % 7) * 0.3 if s.kind == "rain" else 3.0 + (i % 10) * 0.15 + (288 - step) * 0.002,
                         "mm" if s.kind == "rain" else "m", "bench") for i, s in enumerate(all_stations)]
        with transaction(sessions) as session:
            repo.store_readings(session, batch, when)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def add_history(url: str, days: int, below: float) -> None:
    """Hourly rain totals for the ``days - 1`` days before the stored 24 h, written straight into
    ``reading_hours`` (what storing their readings would leave there; 3 hours in 10 wet, at 1.5 mm): a
    database in use holds the whole dry-day horizon (60 days), and the rain query reads it every cycle."""
    if days <= 1:
        return
    first = int(NOW.timestamp()) - 86400  # the oldest hour bucket the readings filled (its first reading's)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(  # text(): the driver's own escaping of '%' on PostgreSQL
            f"WITH RECURSIVE h(x) AS (SELECT {first - (days - 1) * 86400} UNION ALL "
            f"SELECT x + 3600 FROM h WHERE x < {first - 3600}) "
            "INSERT INTO reading_hours (station, quantity, hour, total, count) "
            "SELECT l.station, 'rain_mm', h.x, CASE WHEN (h.x / 3600 + length(l.station)) % 10 < 3 "
            "THEN 1.5 ELSE 0.0 END, 12 FROM reading_latest l, h WHERE l.quantity = 'rain_mm'"))
    # Written past the readings: the per-gauge state is rebuilt from the hourly totals (`responder db rebuild-state`).
    with transaction(session_factory(engine)) as session:
        repo.rebuild_state(session, UTC, below)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def cycle(url: str, chosen: list[Station], rules: list[object]) -> float:
    """Best of three: snapshots in bulk from SQL, then every rule and the decision."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    spec = snapshot_spec(rules, UTC)  # type: ignore[arg-type]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        with sessions() as session:
            snaps = repo.snapshots(session, chosen, NOW, spec)
        evaluated = reached_levels(rules, snaps, [], NOW)  # type: ignore[arg-type]
        decide_evaluated(evaluated, {}, {}, NOW)
        best = min(best, time.perf_counter() - start)
    engine.dispose()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--history-days", type=int, default=1,
                        help="days of hourly rain history (1: only the 24 h of readings; 60: a full dry-day horizon)")
    args = parser.parse_args()
    plan = read_plan(REPO / "config" / "plan.yaml").plan
    rules = [r.model_copy(update={"stations": "all"}) if hasattr(r, "stations") else r for r in plan.rules]
    everyone = stations(args.stations)
    tenth = everyone[: args.stations // 20] + everyone[args.stations // 2: args.stations // 2 + args.stations // 20]
    print(f"{'engine':<12} {'stations':>9} {'readings':>11} {'fill s':>8} {'cycle s':>8}  (cycle: best of 3)")
    with tempfile.TemporaryDirectory() as tmp:
        for engine in args.engines.split(","):
            if engine == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'bench.db'}"
                drop = None
            else:
                import psycopg

                name = f"bench_feeds_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                url, drop = f"postgresql://postgres@127.0.0.1:5432/{name}", name
            try:
                start = time.perf_counter()
                below = snapshot_spec(rules, UTC).dry_below_mm
                fill(url, everyone, below)
                add_history(url, args.history_days, below)
                filled = time.perf_counter() - start
                small = cycle(url, tenth, rules)
                full = cycle(url, everyone, rules)
                print(f"{engine:<12} {len(tenth):>9} {len(tenth) * 289:>11} {'':>8} {small:>8.3f}")
                print(f"{engine:<12} {len(everyone):>9} {len(everyone) * 289:>11} {filled:>8.1f} {full:>8.3f}"
                      f"  ratio {full / small:.1f}× for 10× the stations; target < 1 s")
            finally:
                if drop:
                    import psycopg

                    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')


if __name__ == "__main__":
    main()
