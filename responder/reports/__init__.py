"""After-action reports: what an incident or a drill showed, as self-contained HTML and Markdown.

Pure renderers: :mod:`~responder.reports.assemble` turns an incident's stored records (:mod:`~responder.reports.
records`) into plain data (:mod:`~responder.reports.model`); ``render_html`` / ``render_markdown`` turn that into
text; ``write_files`` writes them. Reading the records is the use case's (``responder.app.reports``).
"""

from __future__ import annotations

from responder.reports.html import render_html
from responder.reports.markdown import render_markdown
from responder.reports.model import Reading, ReportData
from responder.reports.write import write_files

__all__ = ["Reading", "ReportData", "render_html", "render_markdown", "write_files"]
