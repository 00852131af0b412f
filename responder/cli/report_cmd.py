"""``responder report``: the after-action report of an incident (or of the incidents of one drill run)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from responder.cli.common import app_context, console


class ReportFormat(StrEnum):
    html = "html"
    md = "md"
    both = "both"


def report(
    incident: Annotated[list[int], typer.Argument(help="Incident id; several for one drill run (e.g. its flood "
                                                       "and drought incidents).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the report into (created if "
                                                         "missing).")] = Path("reports-out"),
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="html (self-contained, opens offline), md "
                                                                    "(Markdown with the chart as a PNG beside it), "
                                                                    "or both.")] = ReportFormat.both,
    title: Annotated[str | None, typer.Option("--title", help="Report title (default: area, hazards, "
                                                              "incidents).")] = None,
) -> None:
    """Write the after-action report: chart of readings and levels, confirmations per group, escalation
    steps used, unreachable and never-answering people, slow responders, plan gaps."""
    from rich.markup import escape

    from responder.app.outfiles import prepare_folder, write_whole
    from responder.app.reports import build_report
    from responder.reports.write import default_basename, write_files

    ctx = app_context()
    data = build_report(ctx, incident, title=title, language=ctx.settings.display_language)
    formats = ("html", "md") if fmt == ReportFormat.both else (fmt.value,)
    prepare_folder(out)
    written = write_files(data, out, default_basename(incident), formats, write=write_whole)
    show = console()
    drill = " [magenta](DRILL 演练)[/magenta]" if data.is_drill else ""
    show.print(f"report of {', '.join(f'#{i.id} {i.code}' for i in data.incidents)}{drill}: "
               f"{data.overall.confirmed}/{data.overall.called} confirmed, {len(data.gaps)} plan gaps")
    for path in written.values():
        show.print(f"wrote {escape(str(path))}")
