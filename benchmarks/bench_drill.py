"""Issue 7 benchmark: a 72 h drill with 1,000 stations reporting every 5 minutes and 2,000 contacts, on SQLite
(and with ``--engines sqlite,postgresql`` the same scenario in a PostgreSQL database of its own).

Target: < 10 s wall, < 300 MB peak. Run: .venv/bin/python benchmarks/bench_drill.py [--stations 1000]
[--contacts 2000] [--engines sqlite,postgresql]. The reference is the same drill with the bundled plan's 4 stations
and 104 people, in the same run. Each drill runs in a fresh process of its own (as `responder drill run` does), so
that its peak memory (max RSS) is its own; CPU is that process's user + system time.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from responder.drills.run import run_scenario  # noqa: E402
from responder.settings import Settings  # noqa: E402
from responder.wiring import AppContext  # noqa: E402

GROUPS = ["office", "command", "rescue", "security", "medical", "technical", "survey", "communications", "power",
          "water_supply", "militia", "volunteers"]


def build(folder: Path, stations: int, contacts: int) -> Path:
    """A copy of the sample plan with ``stations`` gauges, a roster of ``contacts`` people and a scenario."""
    shutil.copytree(REPO / "config", folder / "config")
    shutil.copytree(REPO / "contacts", folder / "contacts")
    plan_path = folder / "config" / "plan.yaml"
    plan = yaml.safe_load(plan_path.read_text(encoding="utf-8"))
    rain = [f"rain-{i:04d}" for i in range(stations // 2)]
    river = [f"river-{i:04d}" for i in range(stations - len(rain))]
    plan["stations"] = plan["stations"][:] + [
        {"id": s, "name": {"zh": s, "en": s}, "kind": "rain", "feed": "county-rain", "interval": "5m"} for s in rain
    ] + [
        {"id": s, "name": {"zh": s, "en": s}, "kind": "river", "feed": "county-river", "interval": "5m",
         "warning_level": 4.5, "guaranteed_level": 5.2} for s in river
    ]
    for rule in plan["rules"]:
        if rule["kind"] in ("water_level", "rate_of_rise", "dam_break"):
            rule["stations"] = "all"
    plan_path.write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if contacts > 104:
        with (folder / "contacts" / "roster.csv").open("a", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            for i in range(contacts - 104):
                group = GROUPS[2 + i % (len(GROUPS) - 2)]
                writer.writerow([f"X{i:05d}", f"Person {i:05d}", f"+86 174 01{i // 10000:02d} {i % 10000:04d}",
                                 f"{group}:member", "鱼泉子", "zh" if i % 5 else "en"])
    scenario = yaml.safe_load((REPO / "config" / "drills" / "sanjian-flood.yaml").read_text(encoding="utf-8"))
    series = scenario["series"]
    for i, s in enumerate(rain):
        series.append({"kind": "storm", "station": s, "start": f"{4 + i % 6}h", "duration": "18h",
                       "total_mm": 120 + (i % 7) * 20})
    for i, s in enumerate(river):
        series.append({"kind": "river", "station": s, "base": 2.0 + (i % 5) * 0.1,
                       "rain_station": rain[i % len(rain)] if rain else "rain-caisenba", "gain_m_per_mm": 0.012,
                       "lag": "2h", "recession_per_hour": 0.04})
    path = folder / "config" / "drills" / "bench.yaml"
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def run(folder: Path, scenario: Path, url: str | None = None) -> tuple[float, object]:
    """``url``: an empty database to run in instead of the drill's own SQLite file."""
    from responder.storage.db import make_engine

    settings = Settings(_env_file=None, database_url=f"sqlite:///{folder / 'unused.db'}",  # type: ignore[call-arg]
                        plan_file=folder / "config" / "plan.yaml", roster_file=folder / "contacts" / "roster.csv")
    start = time.perf_counter()
    outcome = run_scenario(AppContext(settings), scenario, folder / "out",
                           engine=None if url is None else make_engine(url))
    return time.perf_counter() - start, outcome


def one(folder: Path, scenario: Path, engine: str) -> tuple[float, float, float, int, int, int]:
    """In a process of its own: wall s, CPU s, peak MB, and the drill's readings, messages and confirmations."""
    url = drop = None
    if engine == "postgresql":
        import psycopg

        drop = f"bench_drill_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{drop}"')
        url = f"postgresql://postgres@127.0.0.1:5432/{drop}"
    try:
        cpu = time.process_time()
        wall, outcome = run(folder, scenario, url)
        cpu = time.process_time() - cpu
    finally:
        if drop:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
    result = outcome.result  # type: ignore[attr-defined]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return wall, cpu, peak, result.readings, result.messages, result.confirmations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--engines", default="sqlite", help="where the large drill runs: sqlite, postgresql or both")
    args = parser.parse_args()
    rows = []
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        runs = [("reference (bundled plan)", 0, 104, "sqlite")] + [
            (f"{args.stations} stations, {args.contacts} contacts", args.stations, args.contacts, engine)
            for engine in args.engines.split(",")]
        for i, (label, stations, contacts, engine) in enumerate(runs):
            folder = Path(tmp) / f"run{i}"
            scenario = build(folder, stations, contacts)
            with ProcessPoolExecutor(1, mp_context=spawn) as pool:
                rows.append((label, engine, *pool.submit(one, folder, scenario, engine).result()))
    print(f"{'drill (72 h simulated)':<34} {'engine':<10} {'wall s':>7} {'CPU s':>7} {'peak MB':>8} {'readings':>9} "
          f"{'messages':>9} {'confirmed':>9}  ratio to reference (wall, CPU)")
    ref = rows[0]
    for label, engine, wall, cpu, peak, readings, messages, confirmed in rows:
        print(f"{label:<34} {engine:<10} {wall:>7.2f} {cpu:>7.2f} {peak:>8.0f} {readings:>9} {messages:>9} "
              f"{confirmed:>9}  {wall / ref[2]:.1f}×, {cpu / ref[3]:.1f}×")
    print("target: < 10 s wall and < 300 MB peak for the large drill on SQLite")


if __name__ == "__main__":
    main()
