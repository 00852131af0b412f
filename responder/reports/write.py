"""Writing the report to files: HTML, Markdown and the chart PNG beside them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from responder.reports.model import ReportData

FORMATS = ("html", "md")


def write_files(data: ReportData, out_dir: Path, basename: str,
                formats: Collection[str] = FORMATS) -> dict[str, Path]:
    """Write ``basename.html`` and/or ``basename.md`` (with ``basename.png`` beside it, which the Markdown links).

    Returns the files written by kind: html, md, png.
    """
    from responder.reports.charts import chart_png
    from responder.reports.html import render_html
    from responder.reports.markdown import render_markdown

    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown report format(s) {sorted(unknown)} (known: {', '.join(FORMATS)})")
    out_dir.mkdir(parents=True, exist_ok=True)
    chart = chart_png(data)
    written: dict[str, Path] = {}
    if "html" in formats:
        written["html"] = out_dir / f"{basename}.html"
        written["html"].write_text(render_html(data, chart), encoding="utf-8")
    if "md" in formats:
        written["md"] = out_dir / f"{basename}.md"
        written["png"] = out_dir / f"{basename}.png"
        written["png"].write_bytes(chart)
        written["md"].write_text(render_markdown(data, chart_link=written["png"].name), encoding="utf-8")
    return written


def default_basename(incident_ids: Sequence[int]) -> str:
    return "report-incident-" + "-".join(str(i) for i in sorted(set(incident_ids)))
