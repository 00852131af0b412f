"""Every page of the duty board through the real app on a real SQLite database, in both languages."""

from __future__ import annotations

from board_support import BoardClient

from responder.app.alerts import raise_alert
from responder.wiring import AppContext


def test_now_page_shows_an_open_incident(sqlite_ctx: AppContext, officer: BoardClient) -> None:
    outcome = raise_alert(sqlite_ctx, "flood", 3, "river at 4.1 m", "tester")
    page = officer.get("/?lang=en")
    assert page.status_code == 200, page.text
    assert f"#{outcome.incident_id} {outcome.code}" in page.text
    for path in (f"/incidents/{outcome.incident_id}", "/stations", "/duty", "/incidents"):
        for lang in ("zh", "en"):
            got = officer.get(f"{path}?lang={lang}")
            assert got.status_code == 200, (path, got.text[-2000:])
