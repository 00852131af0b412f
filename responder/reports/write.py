"""Writing the report to files: HTML, Markdown and the chart PNG beside them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from responder.reports.model import ReportData

FORMATS = ("html", "md")


Writer = Callable[[Path, bytes], Path]
"""Writes one file whole or not at all (``app/outfiles.write_whole``): a reader never sees half a report."""


def write_files(data: ReportData, out_dir: Path, basename: str, formats: Collection[str] = FORMATS,
                write: Writer | None = None) -> dict[str, Path]:
    """Write ``basename.html`` and/or ``basename.md`` (with ``basename.png`` beside it, which the Markdown links).

    Everything is rendered before the first file is written, each file through ``write``. Returns the files
    written by kind: html, md, png.
    """
    from responder.reports.charts import chart_png
    from responder.reports.html import render_html
    from responder.reports.markdown import render_markdown

    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown report format(s) {sorted(unknown)} (known: {', '.join(FORMATS)})")
    chart = chart_png(data)
    files: dict[str, tuple[Path, bytes]] = {}
    if "html" in formats:
        files["html"] = (out_dir / f"{basename}.html", render_html(data, chart).encode())
    if "md" in formats:
        files["png"] = (out_dir / f"{basename}.png", chart)
        files["md"] = (out_dir / f"{basename}.md", render_markdown(data, chart_link=f"{basename}.png").encode())
    if write is None:
        out_dir.mkdir(parents=True, exist_ok=True)
    return {kind: write(path, body) if write else _plain(path, body) for kind, (path, body) in files.items()}


def _plain(path: Path, body: bytes) -> Path:
    path.write_bytes(body)
    return path


def default_basename(incident_ids: Sequence[int]) -> str:
    return "report-incident-" + "-".join(str(i) for i in sorted(set(incident_ids)))
