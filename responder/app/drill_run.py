"""`drill run`: a scenario file in, a drill database and an after-action report out."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from responder.app.context import AppContext
from responder.app.drills import DrillProgress, DrillResult, DrillRunner, drill_database
from responder.domain.clock import FakeClock


@dataclass(frozen=True)
class DrillOutcome:
    name: str
    result: DrillResult
    database: str
    html: Path
    markdown: Path
    wall_seconds: float


def drill_context(ctx: AppContext, url: str, clock: FakeClock) -> AppContext:
    """The same plan and roster files, its own database (worked on in memory, saved to ``url`` at the end),
    the fake gateway and a virtual clock."""
    settings = ctx.settings.model_copy(update={"database_url": url, "gateway": "fake",
                                               "send_rate_per_second": 0.0,
                                               "drill_mode": True})
    from responder.storage.db import scratch_engine

    return AppContext(settings, clock=clock, engine_override=scratch_engine(), plan_file_override=ctx.plan_file)


def run_scenario(ctx: AppContext, path: Path, out_dir: Path,
                 on_progress: Callable[[DrillProgress], None] | None = None) -> DrillOutcome:
    from responder.app.contacts import import_contacts, validate_roster_file
    from responder.app.feed_cycle import ingest_and_evaluate
    from responder.app.setup import init_database
    from responder.configfiles.scenario_file import read_scenario
    from responder.reports.data import build_report
    from responder.reports.write import write_files
    from responder.storage.db import save_copy

    wall = time.perf_counter()
    plan = ctx.plan
    roster_file = validate_roster_file(ctx.settings.roster_file, plan)
    roster_file.raise_if_bad()
    loaded = read_scenario(path, plan, roster_file.roster)  # every problem located before anything runs
    start = loaded.start_utc(plan)
    name = path.stem
    database = drill_database(out_dir, name)
    url = f"sqlite:///{database}"
    clock = FakeClock(start)
    drill = drill_context(ctx, url, clock)
    try:
        init_database(drill)
        import_contacts(drill, ctx.settings.roster_file, loaded=roster_file)
        runner = DrillRunner(drill, loaded.scenario, start, on_progress=on_progress, feed_cycle=ingest_and_evaluate)
        try:
            result = runner.run()
            result.notes[:0] = loaded.notes  # what the scenario left implicit, stated before what the run found
        except BaseException:  # an interrupted drill keeps what it did, for a look with the database's tools
            save_copy(drill.engine, database)
            raise
        data = build_report(drill, result.incidents)
        # The copy to disk (SQLite works without Python's lock) runs while the chart is drawn: the report
        # reads nothing more from the database.
        with ThreadPoolExecutor(1, thread_name_prefix="drill-save") as pool:
            saved = pool.submit(save_copy, drill.engine, database)
            written = write_files(data, out_dir, name)
            saved.result()
        html, markdown = written["html"], written["md"]
    finally:
        drill.engine.dispose()
    return DrillOutcome(name, result, url, html, markdown, time.perf_counter() - wall)
