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


def test_the_language_is_the_query_then_the_cookie_then_the_browsers_then_the_plans(officer: BoardClient) -> None:
    assert "当前值班" in officer.get("/duty").text, "the plan's first language (zh) by default"
    assert "On duty now" in officer.get("/duty", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    assert "On duty now" in officer.get("/duty?lang=en").text
    assert "On duty now" in officer.get("/duty").text, "?lang= is remembered"
    assert "当前值班" in officer.get("/duty?lang=zh", headers={"Accept-Language": "en"}).text
    assert "当前值班" in officer.get("/duty?lang=fr").text, "a language the plan has not: the remembered one"


def test_a_drill_is_flagged_unmistakably(sqlite_ctx: AppContext, officer: BoardClient) -> None:
    raise_alert(sqlite_ctx, "flood", 2, "演练：龙河水位", "tester", is_drill=True)
    for path in ("/?lang=en", "/incidents/1?lang=en"):
        page = officer.get(path).text
        assert 'class="drill-banner"' in page and "【演练 DRILL】" in page and "is-drill" in page
    assert "drill-banner" not in officer.get("/stations").text
