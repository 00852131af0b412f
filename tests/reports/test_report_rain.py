"""Rain against the plan's rain rules: the thresholds found for a station, the rolling totals, and the drill's chart.

The expected thresholds are read from config/plan.yaml with PyYAML; the expected totals are summed by hand
or by the feed rules' own ``window_total`` (the sum the rules compare), not by the report code.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from report_scenario import REPO, decoded_size, plan_yaml

from responder.app.reports import build_report, stored_readings
from responder.configfiles.plan_file import read_plan
from responder.domain.clock import FakeClock
from responder.domain.derived import window_total
from responder.reports import ReportData, render_markdown
from responder.reports.charts import chart_png
from responder.reports.figures import readings_margin
from responder.reports.rain import first_reaching, rain_thresholds, rolling_totals, threshold_label, window_label
from responder.reports.snapshot import SnapshotView
from responder.wiring import AppContext

T0 = datetime(2027, 7, 10, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)
COLOURS = {4: "blue", 3: "yellow", 2: "orange", 1: "red"}
BUNDLED = REPO / "config" / "drills" / "sanjian-flood.yaml"


def expected_rain_thresholds() -> list[tuple[int, float]]:
    """(level, mm) of the sample plan's rain_total rules, least severe first, straight from the YAML."""
    found = [(int(level), float(mm)) for rule in plan_yaml()["rules"] if rule["kind"] == "rain_total"
             for level, mm in rule["thresholds"].items()]
    return sorted(found, key=lambda t: t[1])


# -- which thresholds apply to a station ----------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["snapshot", "yaml"])
def test_the_sample_plans_rain_gauges_get_the_24h_thresholds(source: str) -> None:
    """The incident snapshot (JSON: window "1d", levels as strings) and the YAML as written give the same lines."""
    raw = read_plan(REPO / "config" / "plan.yaml").plan.model_dump(mode="json") if source == "snapshot" else plan_yaml()
    view = SnapshotView(raw)
    stations = {str(s["id"]): str(s.get("kind")) for s in view.stations()}
    rain_gauges = [sid for sid, kind in stations.items() if kind == "rain"]
    assert rain_gauges == ["rain-yuquanzi", "rain-caisenba"]
    assert expected_rain_thresholds() == [(4, 50.0), (3, 100.0), (2, 200.0)]
    for sid in rain_gauges:
        found = rain_thresholds(view.rules(), sid, stations[sid], view.level_colour)
        assert [(t.level, t.value) for t in found] == expected_rain_thresholds()
        assert {(t.rule, t.window) for t in found} == {("rain-24h", timedelta(hours=24))}
        assert [t.colour for t in found] == ["blue", "yellow", "orange"]
        assert [threshold_label(t) for t in found] == ["L4 50 mm/24 h", "L3 100 mm/24 h", "L2 200 mm/24 h"]
    for sid in ("longhe-town", "pond-liaojiaba"):  # river and pond: no rain rule looks at them
        assert rain_thresholds(view.rules(), sid, stations[sid], view.level_colour) == ()


def test_rules_name_their_stations_and_windows() -> None:
    rules: list[dict[str, Any]] = [
        {"id": "day", "kind": "rain_total", "thresholds": {"3": 100, "2": 200}},  # no window, no stations: 24 h, all
        {"id": "hour", "kind": "rain_total", "window": "1h", "stations": ["g1"], "thresholds": {4: 20, 3: 40}},
        {"id": "again", "kind": "rain_total", "window": "24h", "stations": "all", "thresholds": {"2": 200}},
        {"id": "bad-window", "kind": "rain_total", "window": "soon", "thresholds": {"2": 1}},
        {"id": "zero", "kind": "rain_total", "window": "0s", "thresholds": {"2": 1}},
        {"id": "junk", "kind": "rain_total", "window": "3h", "thresholds": {"x": 5, "0": 5, "4": -1, "3": "n/a",
                                                                            "2": None}},
        {"id": "stage", "kind": "water_level", "stations": ["g1"], "within": {"3": 0.5}},
        {"id": "dry", "kind": "drought_dry_days", "thresholds": {"4": 16}},
    ]
    g1 = rain_thresholds(rules, "g1", "rain", COLOURS.__getitem__)
    assert [(t.rule, t.level, t.value, t.window, t.colour) for t in g1] == [
        ("hour", 4, 20.0, H, "blue"), ("hour", 3, 40.0, H, "yellow"),
        ("day", 3, 100.0, 24 * H, "yellow"), ("day", 2, 200.0, 24 * H, "orange")]  # "again" repeats "day": once
    g2 = rain_thresholds(rules, "g2", "rain", COLOURS.__getitem__)
    assert [(t.rule, t.level) for t in g2] == [("day", 3), ("day", 2)]
    # a rule listing a station applies to it whatever its kind; "all" means the rain gauges only
    assert [t.rule for t in rain_thresholds(rules, "g1", "river", COLOURS.__getitem__)] == ["hour", "hour"]
    assert rain_thresholds(rules, "g2", "river", COLOURS.__getitem__) == ()
    assert rain_thresholds([], "g1", "rain", COLOURS.__getitem__) == ()


def test_window_labels() -> None:
    assert [window_label(w) for w in (H, 24 * H, 72 * H, 7 * 24 * H, 30 * H * 24, 36 * H * 3,
                                      timedelta(minutes=30), timedelta(seconds=90))] == [
        "1 h", "24 h", "72 h", "7 d", "30 d", "108 h", "30 min", "90 s"]


# -- rolling totals -------------------------------------------------------------------------------------------------
def test_rolling_totals_on_a_small_series() -> None:
    """Rain of the period ending at each reading; the window at t is (t - window, t], as the feed rules sum it."""
    series = [(T0 + h * H, mm) for h, mm in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (4, 0.0), (5, 16.0)]]
    assert rolling_totals(series, 3 * H) == [
        (T0, 1.0), (T0 + H, 3.0), (T0 + 2 * H, 7.0),
        (T0 + 3 * H, 14.0),   # the reading at T0 is exactly 3 h old: out of the window
        (T0 + 4 * H, 12.0), (T0 + 5 * H, 24.0)]
    # totals only from ``since`` on, the readings before still counted; order of the input does not matter
    assert rolling_totals(list(reversed(series)), 3 * H, since=T0 + 4 * H) == [(T0 + 4 * H, 12.0),
                                                                               (T0 + 5 * H, 24.0)]
    assert rolling_totals(series, 24 * H)[-1] == (T0 + 5 * H, 31.0)
    # tenths of a mm add up without float dust, and two readings at one time give one total
    tenths = [(T0 + timedelta(minutes=5 * i), 0.1) for i in range(36)] + [(T0, 0.2)]
    totals = rolling_totals(tenths, H)
    assert totals[0] == (T0, 0.3) and totals[11] == (T0 + timedelta(minutes=55), 1.4)
    assert totals[12] == (T0 + H, 1.2) and len(totals) == 36
    assert rolling_totals([], H) == []
    assert first_reaching(totals, 1.4) == T0 + timedelta(minutes=55) and first_reaching(totals, 9.0) is None


@dataclass(frozen=True)
class _Sample:
    time: datetime
    value: float


def test_rolling_totals_agree_with_the_feed_rules() -> None:
    rng = random.Random(7)
    series = sorted((T0 + timedelta(minutes=rng.randrange(0, 72 * 60, 5)), round(rng.uniform(0, 3), 1))
                    for _ in range(400))
    samples = [_Sample(t, v) for t, v in series]
    for window in (H, 6 * H, 24 * H):
        for t, total in rolling_totals(series, window):
            assert total == pytest.approx(window_total(samples, t, window), abs=1e-9)


def test_reading_the_rules_and_totals_does_not_import_matplotlib() -> None:
    code = ("import sys\nfrom datetime import UTC, datetime, timedelta\n"
            "import responder.reports, responder.reports.rain as r, responder.reports.sections\n"
            "t = datetime(2027, 7, 1, tzinfo=UTC)\n"
            "assert r.rolling_totals([(t, 1.0), (t + timedelta(hours=1), 2.0)], timedelta(hours=24))[-1][1] == 3.0\n"
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr


# -- the bundled drill: 240 mm at Caisenba, 160 mm at Yuquanzi ------------------------------------------------------
@dataclass
class DrillReport:
    ctx: AppContext
    data: ReportData


@pytest.fixture(scope="module")
def drill_report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrillReport]:
    from responder.drills.run import run_scenario
    from responder.settings import Settings

    folder = tmp_path_factory.mktemp("rain-drill")
    settings = Settings(_env_file=None, database_url=f"sqlite:///{folder / 'responder.db'}",
                        plan_file=REPO / "config" / "plan.yaml", roster_file=REPO / "contacts" / "roster.csv",
                        gateway="fake")
    outcome = run_scenario(AppContext(settings), BUNDLED, folder / "out")
    ctx = AppContext(settings.model_copy(update={"database_url": outcome.database}),
                     clock=FakeClock(outcome.result.ended))
    yield DrillReport(ctx, build_report(ctx, outcome.result.incidents))
    ctx.engine.dispose()


def test_the_drills_rain_panels_show_the_24h_total_against_the_plans_lines(drill_report: DrillReport) -> None:
    data = drill_report.data
    rain = {s.station_id: s for s in data.stations if s.is_rain}
    assert sorted(rain) == ["rain-caisenba", "rain-yuquanzi"]
    assert all(s.rain_totals == () for s in data.stations if not s.is_rain)
    margin = readings_margin(data.start, data.end)
    with drill_report.ctx.sessions() as session:
        every = stored_readings(session, sorted(rain), data.start - margin - 24 * H, data.end + margin)
    peaks = {}
    for sid, series in rain.items():
        (day,) = series.rain_totals
        assert day.window == 24 * H
        assert [(t.level, t.value) for t in day.thresholds] == expected_rain_thresholds()
        assert [t for t, _ in day.points] == [t for t, _ in series.points]
        samples = [_Sample(r.at, r.value) for r in every if r.station_id == sid]
        for t, total in day.points[::7]:
            assert total == pytest.approx(window_total(samples, t, 24 * H), abs=1e-6)
        peaks[sid] = max(v for _, v in day.points)
        # the 24 h total rises through the lines in order of severity, and falls back once the storm is a day old
        crossed = [first_reaching(day.points, t.value) for t in day.thresholds]
        got = [t for t in crossed if t is not None]
        assert got == sorted(got) and day.points[-1][1] < 50
    assert peaks["rain-caisenba"] >= 200 > peaks["rain-yuquanzi"] >= 100
    caisenba = next(t for t in rain["rain-caisenba"].rain_totals[0].thresholds if t.level == 2)
    markdown = render_markdown(data, chart_link="x.png")
    reached = first_reaching(rain["rain-caisenba"].rain_totals[0].points, caisenba.value)
    assert reached is not None
    assert f"L2 200 mm/24 h: {reached.astimezone(data.zone).strftime('%Y-%m-%d %H:%M:%S')}" in markdown
    assert "L2 200 mm/24 h: not reached" in markdown  # Yuquanzi
    assert "rolling total" in markdown


def test_the_drills_chart_renders_the_same_every_time(drill_report: DrillReport) -> None:
    png = chart_png(drill_report.data)
    width, height = decoded_size(png)
    assert width >= 600 and height >= 1000
    assert chart_png(build_report(drill_report.ctx, [i.id for i in drill_report.data.incidents])) == png
    # the rain lines change the picture: the same report without the plan's rain rules draws differently
    bare = replace(drill_report.data, stations=tuple(replace(s, rain_totals=()) for s in drill_report.data.stations))
    assert chart_png(bare) != png
