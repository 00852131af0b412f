"""The report of a real incident counts everyone called, at every level: a downgrade releases groups, and the
report (counting from the recipients' latest assignments) found 24 people called where 63 had been at level 2."""

from __future__ import annotations

from sqlalchemy import select

from responder.app.alerts import change_level, raise_alert
from responder.app.reports import build_report
from responder.storage.callouts import history
from responder.storage.models import RecipientRow
from responder.wiring import AppContext

REASON = "龙河水位超警戒线"


def test_after_a_downgrade_the_report_counts_everyone_called_and_their_levels(ctx: AppContext) -> None:
    raised = raise_alert(ctx, "flood", 3, REASON, "tester")
    up = change_level(ctx, raised.incident_id, 2, REASON, "tester")
    change_level(ctx, raised.incident_id, 3, "水位回落", "tester")
    with ctx.sessions() as session:
        recipients = list(session.scalars(select(RecipientRow).where(RecipientRow.incident_id == raised.incident_id)))
        calls = history(session, raised.incident_id)
    at_3 = {r.person_id for r in recipients if any(a.get("group") for a in r.assignments)}
    assert len(at_3) == raised.recipients < up.recipients == len(recipients), "the downgrade released people"

    data = build_report(ctx, [raised.incident_id])
    called = [p for p in data.people if p.called_out]
    assert data.overall.called == len(called) == up.recipients
    levels = {p.person_id: p.called_levels for p in called}
    assert {pid for pid, seen in levels.items() if seen == (3, 2, 3)} == at_3
    assert {pid for pid, seen in levels.items() if seen == (2,)} == {r.person_id for r in recipients} - at_3
    assert {pid: [c.level for c in cs] for pid, cs in calls.items() if pid not in at_3} == {
        pid: [2, 3] for pid in {r.person_id for r in recipients} - at_3}, "called at 2, released at 3"
    rescue = next(g for g in data.groups if g.group == "rescue")
    assert rescue.called == sum(1 for p in called if "rescue" in p.groups) > 2
