"""HTML and Markdown renderings: self-contained, the chart a real PNG, the same figures, deterministic."""

from __future__ import annotations

import base64
import html
import re
from datetime import timedelta
from pathlib import Path

from report_scenario import PNG_SIGNATURE, SEASON_START, PlayedFlood, decoded_size, new_context

from responder.app.reports import build_report, write_report
from responder.domain.clock import FakeClock
from responder.reports import render_html, render_markdown
from responder.reports.charts import chart_png
from responder.reports.markdown import cell
from responder.reports.sections import all_sections

DATA_URI = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def test_html_is_self_contained_with_a_real_png(flood_drill: PlayedFlood) -> None:
    page = render_html(flood_drill.data)
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "<script" not in page and "@import" not in page and "url(" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    (encoded,) = DATA_URI.findall(page)
    width, height = decoded_size(base64.b64decode(encoded))
    assert width >= 600 and height >= 200


def test_the_drill_is_marked(flood_drill: PlayedFlood) -> None:
    page = render_html(flood_drill.data)
    banner = re.search(r'<div class="drill"[^>]*>(.*?)</div>', page)
    assert banner and "演练" in banner.group(1) and "DRILL" in banner.group(1)
    assert page.index('class="drill"') < page.index("<h1>")
    markdown = render_markdown(flood_drill.data, chart_link="chart.png")
    assert markdown.startswith("> **演练 DRILL**")


def cells(section_id: str, flood_drill: PlayedFlood) -> list[str]:
    section = next(s for s in all_sections(flood_drill.data) if s.id == section_id)
    assert section.table is not None
    return [c for row in section.table.rows for c in row if c]


def test_markdown_has_the_same_figures(flood_drill: PlayedFlood) -> None:
    page = render_html(flood_drill.data)
    markdown = render_markdown(flood_drill.data, chart_link="chart.png")
    for section in all_sections(flood_drill.data):
        assert section.title in markdown and html.escape(section.title) in page
        if section.table is None:
            continue
        for row in section.table.rows:
            md_row = "| " + " | ".join(cell(c) for c in row) + " |"
            assert md_row in markdown, md_row
            html_row = "".join(f"<td>{html.escape(c)}</td>" for c in row)
            assert html_row in page, html_row
    # the figures the drill is about, in words
    for figure in ("76.2%", "0.0%", "never 未达到", "T+10m", "T+40m", "T+1h", "张己", "stuck in traffic"):
        assert figure in markdown and html.escape(figure) in page, figure
    assert "![readings against thresholds and the declared level over time](chart.png)" in markdown


def test_markdown_can_embed_the_chart(flood_drill: PlayedFlood) -> None:
    markdown = render_markdown(flood_drill.data)
    found = re.search(r"\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert found and base64.b64decode(found.group(1)).startswith(PNG_SIGNATURE)


def test_same_data_same_bytes(flood_drill: PlayedFlood, tmp_path: Path) -> None:
    ctx, incident = flood_drill.ctx, flood_drill.drill.incident_id
    again = build_report(ctx, [incident])
    assert again == flood_drill.data
    assert chart_png(again) == chart_png(flood_drill.data)
    first = write_report(ctx, [incident], tmp_path / "a", "drill")
    second = write_report(ctx, [incident], tmp_path / "b", "drill")
    for one, two in zip(first, second, strict=True):
        assert one.name == two.name and one.read_bytes() == two.read_bytes()
    html_file, md_file = first
    assert (html_file.name, md_file.name) == ("drill.html", "drill.md")
    png = tmp_path / "a" / "drill.png"
    assert png.read_bytes() == (tmp_path / "b" / "drill.png").read_bytes()
    decoded_size(png.read_bytes())
    assert "](drill.png)" in md_file.read_text(encoding="utf-8")


def test_a_real_incident_is_not_marked_as_a_drill(tmp_path: Path) -> None:
    from responder.app.alerts import raise_alert

    clock = FakeClock(SEASON_START)
    ctx = new_context(tmp_path, clock)
    try:
        outcome = raise_alert(ctx, "flood", 3, "龙河水位上涨", "duty officer")
        clock.advance(timedelta(minutes=7))
        data = build_report(ctx, [outcome.incident_id], title="Real <incident> & co")
        page = render_html(data)
    finally:
        ctx.engine.dispose()
    assert 'class="drill"' not in page and "DRILL" not in page
    assert "<title>Real &lt;incident&gt; &amp; co</title>" in page
    # still open: the window ends at the clock, and nobody has confirmed yet
    assert data.end == clock.now() and data.incidents[0].ended_at is None
    assert data.overall.confirmed == 0 and data.overall.first_confirmation is None
    assert "still open" in render_markdown(data, chart_link="x.png")
