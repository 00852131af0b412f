"""``responder drill``: scenario drills on a virtual clock, and live drills with real people."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from responder.cli.common import app_context, console, new_app

app = new_app("Drills (演练): run a scenario on a virtual clock, or a live drill with real people.")


@app.command("run", help="Run a scenario through the real pipeline on a virtual clock, in its own database; "
                         "writes the after-action report.")
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario file, e.g. config/drills/sanjian-flood.yaml.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the drill database and report.")] = Path(
        "drill-output"),
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress display.")] = False,
    seed: Annotated[int | None, typer.Option("--seed", help="Play the scenario with another seed (who replies, "
                                                            "when, who is unreachable); default: the scenario's.")]
    = None,
) -> None:
    from rich.progress import BarColumn, Progress, TextColumn

    from responder.drills.run import run_scenario

    ctx = app_context()
    out_console = console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), console=out_console, disable=quiet,
                  transient=False) as progress:
        task = progress.add_task("drill", total=1.0)

        where = ["drill"]

        def show(p: object) -> None:
            from responder.drills.runner import DrillProgress

            assert isinstance(p, DrillProgress)
            levels = ", ".join(f"{h} L{lvl}" for h, lvl in sorted(p.levels.items())) or "no alert"
            where[0] = f"{p.now.astimezone(ctx.plan.area.zone).strftime('%m-%d %H:%M')} | {levels}"
            progress.update(task, completed=p.done, description=f"{where[0]} | {p.messages} msgs | "
                                                                 f"{p.confirmations} confirmed")

        outcome = run_scenario(ctx, scenario, out, on_progress=show, seed=seed)
        # The last frame gives the report's totals, as the summary below does (the live count includes the proposals
        # to the duty officer and the chain's confirmations).
        progress.update(task, completed=1.0, description=f"{where[0]} | {outcome.result.messages} msgs | "
                                                         f"{outcome.result.confirmations} confirmed")
    result = outcome.result
    c = console()
    c.print(f"drill '{outcome.name}' done in {outcome.wall_seconds:.1f} s wall for "
            f"{(result.ended - result.started).total_seconds() / 3600:.0f} h simulated: {len(result.incidents)} "
            f"incident(s), {result.readings} readings, {result.messages} messages sent, {result.confirmations} "
            f"confirmations, {result.replies} replies"
            + (f" (and {result.other_messages} messages outside the incidents: proposals to the duty officer)"
               if result.other_messages else ""))
    for note in result.notes:
        c.print(f"  note: {note}")
    c.print(f"drill database: {outcome.database}")
    c.print(f"report: {outcome.html}")
    c.print(f"report (Markdown): {outcome.markdown}")


@app.command("start", help="Start a LIVE drill with real people over the real gateway; every message is marked.")
def start(
    live: Annotated[bool, typer.Option("--live", help="Required: this really messages people.")] = False,
    level: Annotated[int, typer.Option("--level", "-l", help="Warning level to drill.")] = 3,
    hazard: Annotated[str, typer.Option("--hazard", help="Hazard id from the plan.")] = "flood",
    reason: Annotated[str, typer.Option("--reason", "-r", help="What the drill pretends happened.")] = "汛前演练",
    by: Annotated[str | None, typer.Option("--by", help="Who runs the drill.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    no_send: Annotated[bool, typer.Option("--no-send", help="Only queue; `responder serve` sends.")] = False,
) -> None:
    from responder.app.alerts import preview_raise, raise_alert
    from responder.cli.alert_cmd import _by, _confirm, _dispatch, _gateway, _print_preview, _report

    if not live:
        console(stderr=True).print("[red]refused[/red]: a live drill messages real people; add --live "
                                   "(or use `responder drill run SCENARIO` for a simulated one)")
        raise typer.Exit(2)
    ctx = app_context()
    _print_preview(preview_raise(ctx, hazard, level, reason, is_drill=True))
    gateway = _gateway(no_send)
    _confirm(yes, "Start this LIVE drill (real people will be messaged, marked as a drill)?")
    outcome = raise_alert(ctx, hazard, level, reason, _by(by), is_drill=True)
    _report(outcome, "started as a LIVE DRILL 演练")
    _dispatch(outcome, no_send, gateway)


@app.command("end", help="Stand down a live drill.")
def end(
    incident: Annotated[int | None, typer.Argument(help="Drill incident id (default: the only open drill).")] = None,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Closing words.")] = "演练结束 drill over",
    by: Annotated[str | None, typer.Option("--by", help="Who ends it.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    no_send: Annotated[bool, typer.Option("--no-send", help="Only queue; `responder serve` sends.")] = False,
) -> None:
    from responder.app.alerts import end_alert
    from responder.app.status import list_incidents
    from responder.cli.alert_cmd import _by, _confirm, _dispatch, _report
    from responder.domain.errors import InputError, Problem

    ctx = app_context()
    drills = [i for i in list_incidents(ctx, include_ended=False) if i.is_drill]
    if incident is None:
        if len(drills) != 1:
            raise InputError(Problem(f"{len(drills)} drills are open: name one ({', '.join(str(d.id) for d in drills)})"
                                     if drills else "no drill is open", field="INCIDENT"))
        incident = drills[0].id
    elif incident not in {d.id for d in drills}:
        raise InputError(Problem(f"incident #{incident} is not an open drill (use `alert end` for real incidents)",
                                 field="INCIDENT"))
    _confirm(yes, f"End drill #{incident}?")
    outcome = end_alert(ctx, incident, reason, _by(by))
    _report(outcome, "drill ended")
    _dispatch(outcome, no_send)
