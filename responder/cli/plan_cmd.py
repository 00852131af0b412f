"""``responder plan``: check and show the emergency plan."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from responder.cli.common import app_context, console, dump_json, local_time, new_app, print_problems, text

app = new_app("The emergency plan (config/plan.yaml) with the roster and duty rota.")


@app.command("check", help="Validate plan, roster and duty rota together; errors exit 2, warnings do not.")
def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print the problems as JSON.")] = False,
) -> None:
    from responder.app.plan_check import check_plan

    report = check_plan(app_context())
    if as_json:
        dump_json([{"file": p.file, "line": p.line, "field": p.field, "severity": p.severity.value,
                    "message": p.message} for p in report.problems])
    else:
        print_problems(report.problems, err=False)
        summary = f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
        if report.plan is not None:
            summary += f"; {len(report.plan.groups)} groups, {report.people} people"
        console().print(("[red]plan check failed[/red]: " if report.errors else "[green]plan check passed[/green]: ")
                        + summary)
    if report.errors:
        raise typer.Exit(2)


@app.command("show", help="Print the levels × groups call-out matrix and the escalation chain.")
def show(
    hazard: Annotated[str | None, typer.Option(help="Only this hazard (flood, drought, ...).")] = None,
) -> None:
    from responder.cli.tables import Table
    from responder.domain.types import LEVELS

    ctx = app_context()
    plan = ctx.plan
    lang = ctx.settings.display_language or plan.default_language
    out = console()
    languages = ", ".join(plan.languages)
    out.print(f"[bold]{text(plan.area.name, lang)}[/bold] ({plan.area.timezone}), languages {languages}")
    levels = Table(title="Warning levels")
    for col in ("level", "colour", "name", "condition", "confirm within"):
        levels.add_column(col)
    for number in LEVELS:
        level = plan.level(number)
        policy = plan.policy(number)
        within = policy.confirm_within if policy and policy.confirm_within else None
        levels.add_row(str(number), f"[{_rich_colour(level.colour)}]{text(level.colour_name, lang)}[/]",
                       text(level.name, lang), text(level.condition, lang),
                       "—" if within is None else f"{int(within.total_seconds() // 60)} min")
    out.print(levels)
    for hz in plan.hazards:
        if hazard and hz.id != hazard:
            continue
        matrix = Table(title=f"Call-out matrix: {text(hz.name, lang)} ({hz.id})", show_lines=True)
        matrix.add_column("group")
        for number in LEVELS:
            matrix.add_column(f"level {number} {text(plan.level(number).colour_name, lang)}",
                              style=_rich_colour(plan.level(number).colour))
        for group in plan.groups:
            cells = []
            for number in LEVELS:
                at = hz.at(number)
                entry = next((e for e in at.groups if e.group == group.id), None) if at else None
                if entry is None:
                    cells.append("")
                else:
                    roles = "" if len(entry.roles) == 3 else f" ({', '.join(r.value for r in entry.roles)})"
                    cells.append(text(entry.task, lang) + roles)
            matrix.add_row(f"{text(group.name, lang)}\n[dim]{group.id}[/dim]", *cells)
        extras = []
        for number in LEVELS:
            at = hz.at(number)
            if at and (at.inform or at.evacuation):
                bits = ([f"inform {', '.join(at.inform)}"] if at.inform else []) + (["evacuation zones active"]
                                                                                   if at.evacuation else [])
                extras.append(f"level {number}: {'; '.join(bits)}")
        out.print(matrix)
        for line in extras:
            out.print(f"  {line}")
    chain = Table(title="Escalation chain")
    for col in ("step", "name", "who"):
        chain.add_column(col)
    for step in plan.escalation_chain:
        who = []
        for t in step.targets:
            if t.duty_officer:
                who.append("duty officer on the rota")
            elif t.person:
                who.append(f"person {t.person}")
            elif t.group:
                who.append(f"{t.role.value if t.role else ''} of {t.group}")
            elif t.external:
                who.append(f"{t.external.name} {t.external.phone}")
        chain.add_row(step.id, text(step.name, lang), "; ".join(who))
    out.print(chain)


def _rich_colour(colour: str) -> str:
    return {"blue": "blue", "yellow": "yellow", "orange": "dark_orange", "red": "red"}.get(colour, "white")


class TreeFormat(StrEnum):
    pdf = "pdf"
    html = "html"


@app.command("calltree", help="Print the call tree (电话树) for the wall: one A4 page per level, PDF or HTML.")
def calltree(
    level: Annotated[int | None, typer.Option("--level", help="Only this warning level (4, 3, 2, 1); default: "
                                                            "every level, one page each.")] = None,
    fmt: Annotated[TreeFormat, typer.Option("--format", "-f", help="pdf (to print) or html (self-contained, "
                                                                  "opens offline).")] = TreeFormat.pdf,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write (default: "
                                                                 "calltree-HAZARD-LEVEL-LANG.FORMAT here).")] = None,
    hazard: Annotated[str | None, typer.Option(help="Hazard (default: the plan's first, e.g. flood).")] = None,
    language: Annotated[str | None, typer.Option("--lang", help="Language of the sheet (default: --lang before "
                                                               "the command, else the plan's first).")] = None,
) -> None:
    """Who phones whom at each level, with numbers, deputies, the duty officer and the reporting chain."""
    from rich.markup import escape

    from responder.app.calltree import write_call_tree

    ctx = app_context()
    written = write_call_tree(ctx, fmt.value, out, hazard, level, language or ctx.settings.display_language)
    tree = written.tree
    levels = ", ".join(str(t.level) for t in tree.levels)
    people = sum(t.people for t in tree.levels)
    console().print(f"wrote {escape(str(written.path))}: {tree.hazard} level(s) {levels}, {written.pages} page(s), "
                    f"{people} call-outs; printed {local_time(tree.versions.printed_at, '%Y-%m-%d %H:%M %Z')}, "
                    f"plan version {tree.versions.plan_version} ({tree.versions.plan_digest})")
    for number, size in written.shrunk.items():
        console().print(f"level {number} is set in {size:g} pt type to fit its page")
    for number in written.overflowing:
        console(stderr=True).print(f"[yellow]warning[/yellow]: level {number} does not fit one page even in the "
                                   "smallest type; it runs onto a second page")
