"""The officer's actions from the board: form, the CLI's preview, an explicit confirm, then the same use case,
recorded under the signed-in user; through the real app on a real SQLite database."""

from __future__ import annotations

from typing import Any

import pytest
from board_support import BoardClient, hidden_fields
from sqlalchemy import select
from web_hooks_support import table_counts

from responder.app.alerts import preview_change, preview_raise, raise_alert
from responder.app.proposals import submit
from responder.domain.board_users import mask_phone
from responder.storage.models import AuditEventRow, IncidentRow, OutboxRow, ProposalRow, RecipientRow
from responder.wiring import AppContext

REASON = "龙河水位超警戒线0.5米"


def preview_then_confirm(client: BoardClient, action: str, **fields: Any) -> tuple[str, str]:
    """Press Preview with ``fields``, then the preview's Confirm; the preview page and where it went."""
    preview = client.post(f"/actions/{action}", data={"step": "preview", "csrf_token": "", **fields})
    assert preview.status_code == 200, preview.text[-3000:]
    carried = hidden_fields(preview.text)
    assert carried["step"] == "confirm"
    done = client.post(f"/actions/{action}", data=carried)
    assert done.status_code == 303, done.text[-3000:]
    return preview.text, done.headers["location"]


def audit_of(ctx: AppContext, kind: str) -> list[AuditEventRow]:
    with ctx.sessions() as session:
        return list(session.scalars(select(AuditEventRow).where(AuditEventRow.kind == kind)))


def incident(ctx: AppContext, incident_id: int) -> IncidentRow:
    with ctx.sessions() as session:
        row = session.get(IncidentRow, incident_id)
    assert row is not None
    return row


def test_raise_shows_the_clis_preview_and_writes_nothing_until_confirmed(sqlite_ctx: AppContext,
                                                                         officer: BoardClient) -> None:
    form = officer.get("/actions/raise?lang=en")
    assert form.status_code == 200 and 'name="reason"' in form.text and 'name="csrf_token"' in form.text
    before = table_counts(sqlite_ctx)
    preview = officer.post("/actions/raise", data={"step": "preview", "hazard": "flood", "level": "2",
                                                   "reason": REASON})
    assert preview.status_code == 200
    assert table_counts(sqlite_ctx) == before, "a preview writes nothing"
    expected = preview_raise(sqlite_ctx, "flood", 2, REASON)
    assert f"{expected.people} people in {len(expected.groups)} groups" in preview.text
    for text in expected.texts:
        assert text.text in preview.text
        assert f"{text.segments.segments} × {text.segments.encoding} ({text.segments.chars})" in preview.text

    _, target = preview_then_confirm(officer, "raise", hazard="flood", level="2", reason=REASON)
    assert target.startswith("/incidents/1?done=")
    row = incident(sqlite_ctx, 1)
    assert (row.level, row.status, row.raised_by) == (2, "open", "officer1 (board)")
    [event] = audit_of(sqlite_ctx, "raised")
    assert event.actor == "officer1 (board)" and event.reason == REASON
    with sqlite_ctx.sessions() as session:
        queued = session.scalars(select(OutboxRow).where(OutboxRow.incident_id == 1)).all()
    assert len(queued) == expected.people
    shown = officer.get(target)
    assert shown.status_code == 200 and "Done: raised" in officer.get(target + "&lang=en").text


def test_upgrade_downgrade_ack_escalate_and_stand_down(sqlite_ctx: AppContext, officer: BoardClient) -> None:
    outcome = raise_alert(sqlite_ctx, "flood", 3, REASON, "tester")
    number = str(outcome.incident_id)
    expected = preview_change(sqlite_ctx, outcome.incident_id, 2, "水位继续上涨")
    preview, _ = preview_then_confirm(officer, "upgrade", incident=number, level="2", reason="水位继续上涨")
    assert expected.texts and all(text.text in preview for text in expected.texts)
    assert incident(sqlite_ctx, outcome.incident_id).level == 2
    preview_then_confirm(officer, "downgrade", incident=number, level="3", reason="水位回落")
    assert incident(sqlite_ctx, outcome.incident_id).level == 3

    with sqlite_ctx.sessions() as session:
        person = session.scalars(select(RecipientRow.person_id).where(RecipientRow.incident_id == 1)).first()
    preview, _ = preview_then_confirm(officer, "ack", incident=number, person=person)
    assert "confirmed by phone" in preview
    with sqlite_ctx.sessions() as session:
        row = session.scalar(select(RecipientRow).where(RecipientRow.person_id == person))
    assert row is not None and row.confirmed_channel == "phone" and row.confirmed_by == "officer1 (board)"

    preview, _ = preview_then_confirm(officer, "escalate", incident=number)
    assert "run now" in preview
    assert [e.actor for e in audit_of(sqlite_ctx, "upgraded") + audit_of(sqlite_ctx, "downgraded")] == [
        "officer1 (board)", "officer1 (board)"]

    preview, target = preview_then_confirm(officer, "end", incident=number, reason="险情解除")
    assert "险情解除" in preview
    ended = incident(sqlite_ctx, outcome.incident_id)
    assert ended.status == "ended" and audit_of(sqlite_ctx, "ended")[0].actor == "officer1 (board)"
    page = officer.get(target + "&lang=en")
    assert "Upgrade" not in page.text, "no actions on an incident that has ended"


def proposal(ctx: AppContext, level: int = 3) -> int:
    outcome = submit(ctx, "flood", level, "rain-24h", "propose",
                     {"station": "rain-yuquanzi", "quantity": "rain_mm", "value": 120.0, "threshold": 100.0})
    assert outcome is not None
    return outcome.proposal_id


def test_confirming_a_proposal_raises_through_the_same_use_case(sqlite_ctx: AppContext, officer: BoardClient) -> None:
    pid = proposal(sqlite_ctx)
    now = officer.get("/?lang=en")
    assert f"P{pid}" in now.text and "rain-yuquanzi" in now.text
    preview, target = preview_then_confirm(officer, "confirm_proposal", proposal=f"P{pid}", reason="")
    assert "rain-24h" in preview, "the default reason names the rule and its reading"
    assert target.startswith("/incidents/1")
    with sqlite_ctx.sessions() as session:
        row = session.get(ProposalRow, pid)
    assert row is not None and row.status == "confirmed" and row.decided_by == "officer1 (board)"
    assert incident(sqlite_ctx, 1).level == 3


def test_rejecting_a_proposal_needs_a_reason(sqlite_ctx: AppContext, officer: BoardClient) -> None:
    pid = proposal(sqlite_ctx)
    refused = officer.post("/actions/reject_proposal", data={"step": "preview", "proposal": f"P{pid}", "reason": " "})
    assert refused.status_code == 400 and 'data-field="reason"' in refused.text
    preview_then_confirm(officer, "reject_proposal", proposal=f"P{pid}", reason="gauge under repair")
    with sqlite_ctx.sessions() as session:
        row = session.get(ProposalRow, pid)
    assert row is not None and row.status == "rejected" and row.decision_reason == "gauge under repair"
    again = officer.post("/actions/reject_proposal", data={"step": "confirm", "proposal": f"P{pid}", "reason": "x"})
    assert again.status_code == 409 and "already rejected" in again.text


@pytest.mark.parametrize("action", ["raise", "upgrade", "end", "ack", "escalate", "confirm_proposal"])
def test_a_viewer_can_change_nothing(sqlite_ctx: AppContext, viewer: BoardClient, action: str) -> None:
    raise_alert(sqlite_ctx, "flood", 3, REASON, "tester")
    pid = proposal(sqlite_ctx, 2)
    before = table_counts(sqlite_ctx)
    fields = {"incident": "1", "proposal": f"P{pid}", "level": "2", "reason": REASON, "person": "O003",
              "hazard": "flood"}
    for step in ("preview", "confirm"):
        answer = viewer.post(f"/actions/{action}", data={"step": step, **fields})
        assert answer.status_code == 403
    assert viewer.get(f"/actions/{action}?incident=1").status_code == 403
    assert table_counts(sqlite_ctx) == before
    page = viewer.get("/incidents/1?lang=en")
    assert "/actions/" not in page.text
    assert "+8617400023757" not in page.text and mask_phone("+8617400023757") in page.text, "a viewer sees no number"


def test_an_action_without_the_sessions_csrf_token_is_refused(sqlite_ctx: AppContext, officer: BoardClient) -> None:
    before = table_counts(sqlite_ctx)
    for token in (None, "forged"):
        answer = officer.post("/actions/raise", data={"step": "confirm", "hazard": "flood", "level": "2",
                                                      "reason": REASON, "csrf_token": token})
        assert answer.status_code == 403
    assert table_counts(sqlite_ctx) == before
