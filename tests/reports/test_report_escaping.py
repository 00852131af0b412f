"""What people typed is text in every format (issue 22, point 7): the Markdown report, like the HTML one,
carries no tag, link or image from a reason or a name."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from report_scenario import SEASON_START, new_context

from responder.app.alerts import end_alert, raise_alert
from responder.app.reports import build_report
from responder.domain.clock import FakeClock
from responder.reports import render_html, render_markdown

SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(1)>"
LINK = "[call us](javascript:alert(1))"


def test_reasons_and_names_are_escaped_in_markdown_and_html(tmp_path: Path) -> None:
    clock = FakeClock(SEASON_START)
    ctx = new_context(tmp_path, clock)
    try:
        outcome = raise_alert(ctx, "flood", 3, f"水位上涨 {SCRIPT} {LINK}", f"officer {IMAGE}")
        clock.advance(timedelta(minutes=7))
        end_alert(ctx, outcome.incident_id, f"over | {IMAGE}", f"`{SCRIPT}`")
        data = build_report(ctx, [outcome.incident_id], title=f"Report {SCRIPT}")
    finally:
        ctx.engine.dispose()
    markdown = render_markdown(data, chart_link="chart.png")
    page = render_html(data)
    for text in (markdown, page):
        assert "<script>" not in text.replace('<script type="application/json"', "")
        assert "<img src=x" not in text and "onerror=alert(1)>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown
    assert "&lt;img src=x onerror=alert(1)&gt;" in markdown
    assert not re.search(r"(?<!\\)\]\(javascript:", markdown) and r"\[call us\](javascript:alert(1))" in markdown
    assert r"over \| &lt;img" in markdown  # a | in a cell does not open a new column
    assert not re.search(r"(?<!\\)`&lt;script", markdown)  # nor does a backtick open code
    assert "# Report &lt;script&gt;" in markdown
