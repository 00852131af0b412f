"""Readings for the chart: what the feeds stored, and the report with stations."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from report_scenario import SEASON_START, decoded_size, new_context
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from responder.app.reports import build_report, stored_readings
from responder.domain.clock import FakeClock
from responder.reports import Reading, render_markdown
from responder.reports.charts import chart_png, cjk_font, drawable
from responder.reports.figures import readings_margin
from responder.storage.models import IncidentRow
from responder.wiring import AppContext

T0 = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)


def test_loader_reads_the_feeds_table(tmp_path: Path) -> None:
    """The readings the feeds stored, of the stations asked for, in the window (both ends included)."""
    from responder.storage.feed_models import ReadingRow
    from responder.storage.schema import Base

    engine = create_engine(f"sqlite:///{tmp_path / 'feeds.db'}")
    Base.metadata.tables["readings"].create(engine)
    with Session(engine) as session, session.begin():
        session.add_all([ReadingRow(station=s, quantity=q, time=T0 + timedelta(minutes=m), value=v, unit=u,
                                    source="csv:test", received_at=T0)
                         for s, q, m, v, u in [("longhe", "stage_m", -30, 4.1, "m"), ("longhe", "stage_m", 0, 4.4, "m"),
                                               ("longhe", "stage_m", 90, 5.0, "m"), ("rain", "rain_mm", 0, 3.5, "mm"),
                                               ("rain", "rain_mm", 60, 2.0, "mm"), ("other", "rain_mm", 0, 1.0, "mm")]])
    with Session(engine) as session:
        found = stored_readings(session, ["longhe", "rain"], T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    engine.dispose()
    assert found == [Reading("longhe", "stage_m", T0 - timedelta(minutes=30), 4.1, "m"),
                     Reading("longhe", "stage_m", T0, 4.4, "m"), Reading("rain", "rain_mm", T0, 3.5, "mm"),
                     Reading("rain", "rain_mm", T0 + timedelta(hours=1), 2.0, "mm")]


def test_loader_asked_for_no_station_reads_nothing(sqlite_ctx: AppContext) -> None:
    with sqlite_ctx.sessions() as session:
        assert stored_readings(session, [], T0, T0 + timedelta(hours=1)) == []


STATIONS = [
    {"id": "longhe", "name": {"zh": "龙河大桥"}, "kind": "river", "warning_level": 5.0, "guaranteed_level": 6.5,
     "unit": "m"},
    {"id": "rain-1", "name": {"zh": "三建雨量站", "en": "Sanjian rain gauge"}, "kind": "rain",
     "threshold_24h_mm": "200"},
    {"id": "silent", "name": "no readings", "kind": "river", "warning_level": None},
]


@pytest.fixture
def incident_with_stations(tmp_path: Path) -> Iterator[tuple[AppContext, int]]:
    from responder.app.alerts import end_alert, raise_alert

    clock = FakeClock(SEASON_START)
    ctx = new_context(tmp_path, clock)
    outcome = raise_alert(ctx, "flood", 2, "龙河水位超警戒线", "duty officer", is_drill=True)
    clock.advance(timedelta(hours=2))
    end_alert(ctx, outcome.incident_id, "water falling", "duty officer")
    with ctx.engine.begin() as conn:
        snapshot = dict(conn.execute(select(IncidentRow.plan_snapshot)).scalar_one())
        snapshot["stations"] = STATIONS
        conn.execute(update(IncidentRow).values(plan_snapshot=snapshot))
    yield ctx, outcome.incident_id
    ctx.engine.dispose()


def test_report_with_readings(incident_with_stations: tuple[AppContext, int]) -> None:
    ctx, incident = incident_with_stations
    asked: list[tuple[list[str], datetime, datetime]] = []

    def source(session: Session, ids: Sequence[str], start: datetime, end: datetime) -> list[Reading]:
        asked.append((list(ids), start, end))
        out, t, level = [], start, 3.0
        while t <= end:
            level += 0.15 if t < T0 + timedelta(hours=1) else -0.15
            out.append(Reading("longhe", "water_level", t, round(level, 2), "m"))
            out.append(Reading("rain-1", "rain", t, 6.0, "mm"))
            out.append(Reading("elsewhere", "rain", t, 1.0, "mm"))
            t += timedelta(minutes=10)
        return out

    data = build_report(ctx, [incident], readings=source)
    margin = readings_margin(T0, T0 + timedelta(hours=2))
    opens = T0 - margin
    # then the day before the chart opens, for the rain gauge only: its first 24 h total counts that rain too
    assert asked == [(["longhe", "rain-1", "silent"], opens, T0 + timedelta(hours=2) + margin),
                     (["rain-1"], opens - timedelta(hours=24), opens)]
    river, rain = data.stations
    assert (river.station_id, river.kind, river.unit, river.is_rain) == ("longhe", "river", "m", False)
    assert [(t.key, t.value) for t in river.thresholds] == [("warning_level", 5.0), ("guaranteed_level", 6.5)]
    assert river.rain_totals == ()
    assert (rain.name_en, rain.is_rain, [(t.key, t.value) for t in rain.thresholds]) == (
        "Sanjian rain gauge", True, [("threshold_24h_mm", 200.0)])
    # the sample plan's rain-24h rule applies to every rain gauge: 6 mm every 10 minutes is 864 mm a day,
    # from the first reading shown on (the 143 readings of the day before it count)
    (day,) = rain.rain_totals
    assert day.window == timedelta(hours=24)
    assert [(t.level, t.value, t.colour) for t in day.thresholds] == [(4, 50.0, "blue"), (3, 100.0, "yellow"),
                                                                         (2, 200.0, "orange")]
    assert [t for t, _ in day.points] == [t for t, _ in rain.points] and rain.points[0][0] == opens
    assert {v for _, v in day.points} == {864.0}
    first_above = next(at for at, v in river.points if v >= 5.0)
    markdown = render_markdown(data, chart_link="x.png")
    local = first_above.astimezone(data.zone).strftime("%Y-%m-%d %H:%M:%S")
    assert f"warning level 警戒水位 5: {local}" in markdown
    assert "guaranteed level 保证水位 6.5: not reached" in markdown
    opened = opens.astimezone(data.zone).strftime("%Y-%m-%d %H:%M:%S")
    assert f"L2 200 mm/24 h: {opened}" in markdown and f"24 h total peak 864 at {opened}" in markdown
    with_stations = decoded_size(chart_png(data))
    without = decoded_size(chart_png(build_report(ctx, [incident], readings=lambda *_: [])))
    assert with_stations[1] > without[1]  # a panel per station series


def test_the_chart_draws_chinese_in_noto_sans_cjk_even_under_an_old_font_cache(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """matplotlib's font cache, built before fonts-noto-cjk was installed, did not list it: no Chinese at all."""
    from matplotlib import font_manager

    from responder.reports import charts

    stale = [f for f in font_manager.fontManager.ttflist if "CJK" not in f.name]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)
    charts.cjk_font.cache_clear()
    try:
        assert cjk_font() == "Noto Sans CJK SC"
        assert drawable("龙河大桥 预警级别", [cjk_font()]) and not drawable("龙河大桥", ["DejaVu Sans"])
    finally:
        charts.cjk_font.cache_clear()


def test_without_the_font_the_report_says_which_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib import font_manager

    from responder.reports import charts

    monkeypatch.setattr(font_manager.fontManager, "ttflist",
                        [f for f in font_manager.fontManager.ttflist if "CJK" not in f.name])
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    charts.cjk_font.cache_clear()
    try:
        with pytest.raises(charts.MissingFont, match="fonts-noto-cjk"):
            cjk_font()
    finally:
        charts.cjk_font.cache_clear()


def test_the_stations_the_evidence_names_come_first(tmp_path: Path) -> None:
    """A plan may have hundreds of gauges: the chart reads a few, the one that triggered the alert first."""
    from responder.app.alerts import raise_alert
    from responder.reports.stations import MAX_STATIONS

    clock = FakeClock(SEASON_START)
    ctx = new_context(tmp_path, clock)
    try:
        outcome = raise_alert(ctx, "flood", 3, "s11 above the line", "feeds", evidence={"station": "s11",
                                                                                         "value": 5.2})
        with ctx.engine.begin() as conn:
            snapshot = dict(conn.execute(select(IncidentRow.plan_snapshot)).scalar_one())
            snapshot["stations"] = [{"id": f"s{i:02d}", "name": {"en": f"gauge {i}"}, "kind": "river"}
                                    for i in range(20)]
            conn.execute(update(IncidentRow).values(plan_snapshot=snapshot))
        asked: list[list[str]] = []

        def source(session: Session, ids: Sequence[str], start: datetime, end: datetime) -> list[Reading]:
            asked.append(list(ids))
            return []

        build_report(ctx, [outcome.incident_id], readings=source)
    finally:
        ctx.engine.dispose()
    assert asked == [["s11"] + [f"s{i:02d}" for i in range(MAX_STATIONS - 1)]]
