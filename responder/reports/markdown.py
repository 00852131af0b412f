"""The report as Markdown (GitHub-flavoured tables); the chart is a PNG beside it, or a data URI."""

from __future__ import annotations

import base64

from responder.reports import fmt
from responder.reports.model import ReportData
from responder.reports.sections import Section, all_sections

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", **{c: "\\" + c for c in "\\`[]|"}})
"""What people typed (reasons, names, notes) is text, never markup: an HTML tag (``<script>``, ``<img onerror>``)
becomes entities, so no renderer runs it; brackets and backticks are backslash-escaped, so a reason cannot
become a link, an image or code, and ``|`` cannot end a table cell. (Emphasis is left alone: it changes no
meaning, and ``escalate_chain`` reads better unescaped.)"""


def cell(text: str) -> str:
    return " ".join(text.translate(_ESCAPES).split())


def _section(section: Section) -> str:
    lines = [f"## {cell(section.title)}", ""]
    lines += [f"_{cell(note)}_" for note in section.notes]
    if section.notes:
        lines.append("")
    table = section.table
    if table is None or not table.rows:
        lines.append(f"_{section.empty}_")
    else:
        headers = [cell(h) or " " for h in table.headers]
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("|" + "|".join("---" for _ in headers) + "|")
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def render_markdown(data: ReportData, chart_link: str | None = None, chart: bytes | None = None) -> str:
    """The whole report. The chart is linked as ``chart_link`` (a PNG written beside the file) when given,
    else embedded as a data URI (``chart``, drawn if None)."""
    zone = data.zone
    if chart_link is None:
        if chart is None:
            from responder.reports.charts import chart_png

            chart = chart_png(data)
        src = "data:image/png;base64," + base64.b64encode(chart).decode("ascii")
    else:
        src = chart_link
    out = []
    if data.is_drill:
        out += ["> **演练 DRILL** — this was an exercise, not a real emergency 这是演练，不是真实险情", ""]
    out += [f"# {cell(data.title)}", "",
            f"Times are local 时间为当地时间: {fmt.zone_label(zone, data.start)}. "
            f"Window 时段: {fmt.when(data.start, zone)} → {fmt.when(data.end, zone)}.", "",
            f"![readings against thresholds and the declared level over time]({src})", "",
            f"_{cell(fmt.CHART_CAPTION)}_", ""]
    out += [_section(s) + "\n" for s in all_sections(data)]
    return "\n".join(out).rstrip() + "\n"
