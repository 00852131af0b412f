"""The after-action report lists the public warnings the incidents issued, from the same messages the
export writes."""

from __future__ import annotations

from cap_support import Incidents

from responder.app.cap_export import incident_messages
from responder.app.reports import build_report
from responder.reports.markdown import render_markdown
from responder.wiring import AppContext


def test_the_report_lists_the_cap_messages_issued(sqlite_ctx: AppContext, incidents: Incidents) -> None:
    data = build_report(sqlite_ctx, [incidents.flood, incidents.drill])
    flood = incident_messages(sqlite_ctx, incidents.flood).messages
    drill = incident_messages(sqlite_ctx, incidents.drill).messages
    assert [(m.incident_id, m.identifier, m.msg_type, m.status, m.level) for m in data.cap_messages] == [
        *((incidents.flood, m.identifier, m.msg_type, "Actual", level) for m, level in zip(flood, (3, 1, 2, 2),
                                                                                           strict=True)),
        (incidents.drill, drill[0].identifier, "Alert", "Exercise", 4),
    ]
    assert [m.sent for m in data.cap_messages[:4]] == [m.sent_at for m in flood]
    text = render_markdown(data)
    section = text[text.index("## Public warnings issued (CAP 1.2)"):]
    section = section[:section.index("\n## ", 3)]
    assert f"| {flood[1].identifier} | Update | Actual | 2027-07-01 10:00:00 | L1 |" in section
    assert f"| {drill[0].identifier} | Alert | Exercise |" in section
