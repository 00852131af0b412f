"""``drill run``: a scenario file in, a drill database and an after-action report out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from responder.app.ports import Context
from responder.domain.clock import FakeClock
from responder.drills.runner import DrillProgress, DrillResult, DrillRunner
from responder.wiring import AppContext

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from responder.reports.model import ReportData


@dataclass(frozen=True)
class DrillOutcome:
    name: str
    result: DrillResult
    database: str
    html: Path
    markdown: Path
    wall_seconds: float


def drill_context(ctx: Context, url: str, clock: FakeClock, engine: Engine | None = None) -> AppContext:
    """The same plan and roster files, its own database (worked on in memory, saved to ``url`` at the end;
    or ``engine``'s), the fake gateway and a virtual clock."""
    settings = ctx.settings.model_copy(update={"database_url": url, "gateway": "fake",
                                               "send_rate_per_second": 0.0,
                                               "drill_mode": True})
    from responder.storage.db import scratch_engine

    return AppContext(settings, clock=clock, engine_override=engine or scratch_engine(),
                      plan_file_override=ctx.plan_file)


def run_scenario(ctx: Context, path: Path, out_dir: Path,
                 on_progress: Callable[[DrillProgress], None] | None = None, seed: int | None = None,
                 engine: Engine | None = None) -> DrillOutcome:
    """``seed``: instead of the scenario's own, to play the same scenario with other replies, delays and failures.
    ``engine``: an empty database of its own to run in instead of the drill's SQLite file (the benchmark's
    PostgreSQL run); nothing is copied to a file then."""
    from responder.app.contacts import import_contacts
    from responder.app.feed_cycle import ingest_and_evaluate
    from responder.app.outfiles import write_whole
    from responder.app.reports import build_report
    from responder.app.setup import init_database, rebuild_state
    from responder.configfiles.roster_csv import validate_roster_file
    from responder.configfiles.scenario_file import read_scenario
    from responder.reports.write import write_files
    from responder.storage.db import let_go, save_copy

    wall = time.perf_counter()
    plan = ctx.plan
    roster_file = validate_roster_file(ctx.settings.roster_file, plan)
    roster_file.raise_if_bad()
    loaded = read_scenario(path, plan, roster_file.roster)  # every problem located before anything runs
    scenario = loaded.scenario if seed is None else loaded.scenario.model_copy(update={"seed": seed})
    start = loaded.start_utc(plan)
    name = path.stem
    database = drill_database(out_dir, name)
    url = f"sqlite:///{database}" if engine is None else engine.url.render_as_string(hide_password=True)
    clock = FakeClock(start)
    drill = drill_context(ctx, url, clock, engine)
    save = save_copy if engine is None else _no_copy
    try:
        init_database(drill)
        rebuild_state(drill)
        import_contacts(drill, ctx.settings.roster_file, loaded=roster_file)
        runner = DrillRunner(drill, scenario, start, on_progress=on_progress, feed_cycle=ingest_and_evaluate)
        try:
            result = runner.run()
            result.notes[:0] = loaded.notes  # what the scenario left implicit, stated before what the run found
        except BaseException:  # an interrupted drill keeps what it did, for a look with the database's tools
            save(drill.engine, database)
            raise
        data = build_report(drill, result.incidents)
        _as_the_report_counts(result, data)
        # The report reads nothing more from the database: saved, the working copy (tens of MB in a large drill)
        # is let go before the chart library is loaded and the chart drawn.
        save(drill.engine, database)
        let_go(drill.engine)
        written = write_files(data, out_dir, name, write=write_whole)
        html, markdown = written["html"], written["md"]
    finally:
        drill.engine.dispose()
    return DrillOutcome(name, result, url, html, markdown, time.perf_counter() - wall)


def _no_copy(engine: Engine, database: Path) -> None:
    """A drill in a database server's own database: it is there already."""


def _as_the_report_counts(result: DrillResult, data: ReportData) -> None:
    """The console summary gives the report's totals: the incidents' messages that went out (not the proposals to
    the duty officer, which belong to no incident: counted apart) and the people called out who confirmed (not a
    rung of the chain told of them). Counted twice two ways, they disagreed (598 vs 594, 96 vs 95)."""
    from responder.reports.assemble import REACHED

    sent = sum(n for incident in data.incidents for status, n in incident.messages_by_status if status in REACHED)
    result.other_messages = result.messages - sent
    result.messages, result.confirmations = sent, data.overall.confirmed


def drill_database(out_dir: Path, name: str) -> Path:
    """Each drill run gets its own SQLite file: drill records never mix with real incidents."""
    from responder.app.outfiles import prepare_folder

    prepare_folder(out_dir)  # an unusable --out is refused before the drill runs, located
    return out_dir / f"{name}.db"
