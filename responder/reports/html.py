"""The report as one self-contained HTML file: inline CSS, the chart as a data URI, no external resource."""

from __future__ import annotations

import base64
from html import escape

from responder.reports import fmt
from responder.reports.model import ReportData
from responder.reports.sections import Section, all_sections

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",
 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:1.5rem auto;max-width:1200px;
 padding:0 1rem;color:#1d2733;line-height:1.45}
h1{font-size:1.5rem;margin:.2rem 0 .4rem}
h2{font-size:1.15rem;margin:1.8rem 0 .5rem;border-bottom:2px solid #dde3ea;padding-bottom:.2rem}
.drill{background:#8a1c7c;color:#fff;font-weight:700;font-size:1.3rem;padding:.6rem 1rem;border-radius:6px;
 letter-spacing:.04em;text-align:center}
.meta{color:#566372;font-size:.9rem;margin:.2rem 0}
.note{color:#566372;font-size:.85rem;margin:.2rem 0 .5rem}
table{border-collapse:collapse;font-size:.85rem;width:100%;margin:.3rem 0}
th,td{border:1px solid #d5dce4;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#eef2f6;font-weight:600}
tr.bad td{background:#fde8e8}
tr.warn td{background:#fff6dd}
tr.good td{background:#e9f7ec}
tr.muted td{color:#8894a0}
table.kv td:first-child{font-weight:600;width:18rem;background:#f6f8fa}
figure{margin:1rem 0}
figure img{max-width:100%;height:auto;border:1px solid #d5dce4}
figcaption{color:#566372;font-size:.85rem}
.empty{color:#566372;font-style:italic}
nav a{margin-right:.8rem;font-size:.85rem}
@media print{nav{display:none}.drill{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def _section(section: Section) -> str:
    parts = [f'<section id="{escape(section.id)}">', f"<h2>{escape(section.title)}</h2>"]
    parts += [f'<p class="note">{escape(note)}</p>' for note in section.notes]
    table = section.table
    if table is None or not table.rows:
        parts.append(f'<p class="empty">{escape(section.empty)}</p>')
    else:
        kv = all(not h for h in table.headers)
        parts.append('<table class="kv">' if kv else "<table>")
        if not kv:
            parts.append("<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in table.headers) + "</tr></thead>")
        parts.append("<tbody>")
        for i, row in enumerate(table.rows):
            mark = table.marks[i] if i < len(table.marks) else ""
            cls = f' class="{escape(mark)}"' if mark else ""
            parts.append(f"<tr{cls}>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</section>")
    return "\n".join(parts)


def render_html(data: ReportData, chart: bytes | None = None) -> str:
    """The whole report; ``chart`` is the PNG from :func:`responder.reports.charts.chart_png` (drawn if None)."""
    if chart is None:
        from responder.reports.charts import chart_png

        chart = chart_png(data)
    zone = data.zone
    sections = all_sections(data)
    drill = ""
    if data.is_drill:
        drill = ('<div class="drill" role="note">演练 DRILL — this was an exercise, not a real emergency '
                 "这是演练，不是真实险情</div>")
    image = base64.b64encode(chart).decode("ascii")
    nav = " ".join(f'<a href="#{escape(s.id)}">{escape(s.title)}</a>' for s in sections)
    body = "\n".join(_section(s) for s in sections)
    return f"""<!DOCTYPE html>
<html lang="{escape(data.language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(data.title)}</title>
<style>{CSS}</style>
</head>
<body>
{drill}
<h1>{escape(data.title)}</h1>
<p class="meta">Times are local 时间为当地时间: {escape(fmt.zone_label(zone, data.start))}.
 Window 时段: {escape(fmt.when(data.start, zone))} → {escape(fmt.when(data.end, zone))}.</p>
<nav>{nav}</nav>
<figure>
<img src="data:image/png;base64,{image}" alt="readings against thresholds and the declared level over time">
<figcaption>{escape(fmt.CHART_CAPTION)}</figcaption>
</figure>
{body}
</body>
</html>
"""
