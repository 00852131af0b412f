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


def test_stations_show_latest_margins_stale_and_a_chart(sqlite_ctx: AppContext, officer: BoardClient) -> None:
    from datetime import timedelta

    from responder.app.feed_cycle import add_reading

    now = sqlite_ctx.clock.now()
    for hours, stage, rain in ((3, 4.1, 20.0), (2, 4.4, 35.0), (0, 4.6, 50.0)):
        add_reading(sqlite_ctx, "longhe-town", stage, now - timedelta(hours=hours), "O001")
        add_reading(sqlite_ctx, "rain-yuquanzi", rain, now - timedelta(hours=hours), "O001")
    page = officer.get("/stations?lang=en").text
    river = page.split('id="station-longhe-town"', 1)[1].split("</tr>", 1)[0]
    assert "4.6 m" in river and 'class="over">warning level 4.5: -0.10' in river
    assert "<polyline" in river and 'class="threshold"' in river and "STALE" not in river
    rain = page.split('id="station-rain-yuquanzi"', 1)[1].split("</tr>", 1)[0]
    assert "105.0" in rain and 'class="over">L3 24h 100: -5.00' in rain and rain.count('class="bar"') == 3
    silent = page.split('id="station-rain-caisenba"', 1)[1].split("</tr>", 1)[0]
    assert "STALE" in silent and 'aria-label="no readings"' in silent
    assert page.count('<g class="station') == 4 and page.count('class="zone"') >= 2, "the schematic map"


def test_the_rota_names_weekdays_in_the_pages_language(officer: BoardClient) -> None:
    zh, en = officer.get("/duty?lang=zh").text, officer.get("/duty?lang=en").text
    english = ("Mon ", "Tue ", "Wed ", "Thu ", "Fri ", "Sat ", "Sun ")
    assert any(f"<td>{day}" in zh for day in ("周一", "周二", "周三", "周四", "周五", "周六", "周日")), zh[-3000:]
    assert not any(f"<td>{day}" in zh for day in english)
    assert any(f"<td>{day}" in en for day in english)


def test_the_next_escalation_step_is_named_in_words_not_by_its_id(sqlite_ctx: AppContext, officer: BoardClient) -> None:
    outcome = raise_alert(sqlite_ctx, "flood", 1, "river at 5.3 m", "tester")
    zh = officer.get(f"/incidents/{outcome.incident_id}?lang=zh").text
    en = officer.get(f"/incidents/{outcome.incident_id}?lang=en").text
    assert "重发短信" in zh and "SMS again" in en
    assert "resend_sms" not in zh and "resend_sms" not in en
