"""After-action reports: what an incident or a drill showed, as self-contained HTML and Markdown.

``build_report`` extracts plain data (:mod:`responder.reports.model`) from the database;
``render_html`` / ``render_markdown`` turn it into text; ``write_report`` does both into files.
"""

from __future__ import annotations

from responder.reports.data import build_report
from responder.reports.html import render_html
from responder.reports.markdown import render_markdown
from responder.reports.model import ReportData
from responder.reports.readings import Reading, ReadingsSource, load_readings
from responder.reports.write import write_files, write_report

__all__ = ["Reading", "ReadingsSource", "ReportData", "build_report", "load_readings", "render_html",
           "render_markdown", "write_files", "write_report"]
