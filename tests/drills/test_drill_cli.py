"""`responder drill run` on the bundled scenario (config/drills/sanjian-flood.yaml), through the real CLI, once for
the module: 72 simulated hours on the sample plan, the fake gateway and a database of the drill's own."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from drill_support import (
    BUNDLED,
    MARKERS,
    audit,
    cli,
    context,
    global_options,
    incidents,
    outbox,
    scenario_start,
    unmarked,
)
from sqlalchemy import func, select
from typer.testing import Result

from responder.storage.feed_models import ReadingRow
from responder.storage.models import OutboxRow, RecipientRow
from responder.wiring import AppContext

WALL_LIMIT = 60.0
"""Seconds: generous for CI; the issue asks for seconds on a quiet machine."""
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class Run:
    result: Result
    wall: float
    cwd: Path
    main_url: str
    html: Path
    markdown: Path
    drill: AppContext


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    cwd = tmp_path_factory.mktemp("working-folder")
    main_url = f"sqlite:///{cwd / 'responder.db'}"
    with cli(cwd) as run:
        init = run(*global_options(main_url), "init")
        assert init.exit_code == 0, init.output
        started = time.perf_counter()
        result = run(*global_options(main_url), "drill", "run", str(BUNDLED))
        wall = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    html = re.search(r"^report: (.+\.html)$", result.output, re.M)
    markdown = re.search(r"^report \(Markdown\): (.+\.md)$", result.output, re.M)
    database = re.search(r"^drill database: (sqlite:///\S+)$", result.output, re.M)
    assert html and markdown and database, result.output
    url = database.group(1)
    if not Path(url.removeprefix("sqlite:///")).is_absolute():
        url = f"sqlite:///{cwd / url.removeprefix('sqlite:///')}"
    drill = context(url, scenario_start(BUNDLED) + timedelta(hours=72))
    yield Run(result, wall, cwd, main_url, cwd / html.group(1), cwd / markdown.group(1), drill)
    drill.engine.dispose()


def test_the_bundled_drill_runs_in_reasonable_time_and_says_where_the_report_is(bundled: Run) -> None:
    assert bundled.wall < WALL_LIMIT, f"{bundled.wall:.1f} s"
    out = bundled.result.output
    assert re.search(r"drill 'sanjian-flood' done in [\d.]+ s wall for 72 h simulated: 1 incident\(s\)", out), out
    assert bundled.html.is_file() and bundled.markdown.is_file()
    assert bundled.html.parent == bundled.cwd / "drill-output", "the default --out is in the working folder"
    assert bundled.markdown.with_suffix(".png").read_bytes().startswith(PNG)


def test_the_console_summary_gives_the_reports_totals(bundled: Run) -> None:
    """They were counted twice two ways (598 vs 594 sent, 96 vs 95 confirmations)."""
    said = re.search(r"(\d+) messages sent, (\d+) confirmations", bundled.result.output)
    assert said, bundled.result.output
    md = bundled.markdown.read_text(encoding="utf-8")
    confirmed = re.search(r"^\| confirmed 已确认 \| (\d+) \|$", md, re.M)
    by_status = re.search(r"\| ((?:\w+ \d+(?:, )?)+) \|\n\n## Declared level", md)
    assert confirmed and by_status, md[:3000]
    statuses = dict(part.split(" ") for part in by_status.group(1).split(", "))
    sent = sum(int(n) for status, n in statuses.items() if status in ("sent", "delivered"))
    assert (int(said.group(1)), int(said.group(2))) == (sent, int(confirmed.group(1)))
    rows = outbox(bundled.drill)
    elsewhere = sum(1 for r in rows if r.incident_id is None and r.status in ("sent", "delivered"))
    assert elsewhere and f"and {elsewhere} messages outside the incidents" in bundled.result.output


def test_the_html_report_is_self_contained_with_an_embedded_png(bundled: Run) -> None:
    html = bundled.html.read_text(encoding="utf-8")
    assert not re.search(r"https?://", html), re.findall(r".{30}https?://.{30}", html)[:3]
    assert not re.search(r"<(script|link)[^>]+(src|href)=", html)
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert images and all(base64.b64decode(i).startswith(PNG) for i in images)
    assert "DRILL" in html and "演练" in html


def test_the_drill_database_holds_one_drill_incident_and_every_sms_is_marked(bundled: Run) -> None:
    [incident] = incidents(bundled.drill)
    assert incident.is_drill and incident.status == "ended" and incident.hazard == "flood"
    rows = outbox(bundled.drill)
    sms = [r for r in rows if r.channel == "sms"]
    assert len(sms) > 100
    assert unmarked(sms) == [], "every SMS starts with the plan's drill marker (【演练】, [DRILL])"
    assert {r.language for r in sms} == set(MARKERS)
    assert unmarked([r for r in rows if r.channel == "voice"]) == [], "the voice calls say it too"


def test_levels_went_four_three_two_one_then_ended(bundled: Run) -> None:
    [incident] = incidents(bundled.drill)
    changes = [e for e in audit(bundled.drill, incident.id) if e.kind in ("raised", "upgraded", "downgraded", "ended")]
    path = [e.evidence["level"] if e.kind == "raised" else e.evidence.get("to") for e in changes]
    assert [e.kind for e in changes] == ["raised", "upgraded", "upgraded", "upgraded", "ended"]
    assert path == [4, 3, 2, 1, None]
    scenario = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    hours = {a["do"]: int(a["at"].removesuffix("h")) for a in scenario["actions"]}
    confirm_after = timedelta(minutes=int(scenario["duty_officer"]["confirms_proposals_after"].removesuffix("m")))
    start = scenario_start(BUNDLED)
    # The dam break reported at 30h proposes level 1 at once; the duty officer confirms it 5 minutes later.
    assert changes[3].at == start + timedelta(hours=hours["report"]) + confirm_after
    assert changes[4].at == start + timedelta(hours=hours["end"])
    assert incident.ended_at == changes[4].at


def test_the_stand_down_reached_everyone_who_was_reached_by_anything(bundled: Run) -> None:
    [incident] = incidents(bundled.drill)
    with bundled.drill.sessions() as session:
        told = set(session.scalars(select(OutboxRow.person_id).where(
            OutboxRow.incident_id == incident.id, OutboxRow.kind != "standdown", OutboxRow.person_id.is_not(None),
            OutboxRow.status.in_(("sent", "delivered")))))
        stood_down = set(session.scalars(select(OutboxRow.person_id).where(
            OutboxRow.incident_id == incident.id, OutboxRow.kind == "standdown")))
        recipients = set(session.scalars(select(RecipientRow.person_id).where(RecipientRow.incident_id == incident.id)))
    assert told <= recipients and told <= stood_down


def test_the_working_folders_database_is_untouched(bundled: Run) -> None:
    main = context(bundled.main_url, scenario_start(BUNDLED))
    try:
        assert incidents(main) == []
        assert outbox(main) == []
        assert audit(main) == []
        with main.sessions() as session:
            assert session.scalar(select(func.count()).select_from(ReadingRow)) == 0
    finally:
        main.engine.dispose()


# -- what the drill report tells: issue 14 --------------------------------------------------------------------------
def test_the_report_tells_the_levels_each_person_was_called_at(bundled: Run) -> None:
    """It showed L1 for everyone: each recipient's level was overwritten at every change."""
    from responder.app.reports import build_report

    [incident] = incidents(bundled.drill)
    data = build_report(bundled.drill, [incident.id])
    levels = {p.person_id: p.called_levels for p in data.people if p.called_out}
    assert levels["O001"] == (4, 3, 2, 1), "the office was called at level 4 and re-tasked at each upgrade"
    assert {seen[0] for seen in levels.values()} == {4, 3, 2, 1}
    assert sum(1 for seen in levels.values() if seen == (1,)) < len(levels) / 2
    md = bundled.markdown.read_text(encoding="utf-8")
    people = md[md.index("## Everyone called"):]
    assert "| L4 → L3 → L2 → L1 |" in people


def test_the_first_confirmation_counts_from_the_raise(bundled: Run) -> None:
    """It was the quickest answer of anyone, whenever they were called."""
    from responder.app.reports import build_report
    from responder.reports import fmt

    [incident] = incidents(bundled.drill)
    data = build_report(bundled.drill, [incident.id])
    first = min(p.confirmed_at for p in data.people if p.called_out and p.confirmed_at is not None)
    assert data.overall.first_confirmation == first - incident.raised_at
    quickest = min(t for p in data.people if p.called_out and (t := p.time_to_confirm) is not None)
    assert quickest < data.overall.first_confirmation, "the scenario has a quicker answer later on"
    assert f"| first confirmation 首次确认 | {fmt.duration(first - incident.raised_at)} |" in \
        bundled.markdown.read_text(encoding="utf-8")


def test_the_dam_break_and_the_stand_down_are_marked_on_the_chart(bundled: Run) -> None:
    from matplotlib import dates
    from matplotlib.figure import Figure

    from responder.app.reports import build_report
    from responder.reports.charts import draw_marks

    [incident] = incidents(bundled.drill)
    data = build_report(bundled.drill, [incident.id])
    scenario = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    reported = next(int(a["at"].removesuffix("h")) for a in scenario["actions"] if a["do"] == "report")
    assert [(m.kind, m.at) for m in data.marks] == [
        ("dam_break", scenario_start(BUNDLED) + timedelta(hours=reported)), ("stand_down", incident.ended_at)]
    axes = Figure().subplots(3, 1, squeeze=False)[:, 0]
    draw_marks(axes, data, lambda *texts: texts[0], dates)
    for ax in axes:
        assert sorted(line.get_gid() for line in ax.get_lines()) == ["mark:dam_break", "mark:stand_down"]
    assert [t.get_text() for t in axes[0].texts] == ["dam break 溃坝", "stand-down 应急结束"]


def test_the_report_shows_the_texts_people_received_and_the_decision_log(bundled: Run) -> None:
    from responder.app.reports import build_report

    [incident] = incidents(bundled.drill)
    data = build_report(bundled.drill, [incident.id])
    rows = [r for r in outbox(bundled.drill) if r.incident_id == incident.id and r.status in ("sent", "delivered")]
    assert {t.body for t in data.texts} == {r.body for r in rows}
    assert sum(t.people for t in data.texts if t.kind == "standdown") == sum(1 for r in rows if r.kind == "standdown")
    kinds = [d.kind for d in data.decisions]
    assert [k for k in kinds if k in ("raised", "upgraded", "ended")] == ["raised", "upgraded", "upgraded", "upgraded",
                                                                         "ended"]
    assert "confirmed" not in kinds and "escalation" in kinds and "proposed" in kinds
    md = bundled.markdown.read_text(encoding="utf-8")
    assert "## Decision log 决策记录" in md and "## Texts people received 发出的通知内容" in md
    standdown = next(t for t in data.texts if t.kind == "standdown" and t.language == "zh")
    assert " ".join(standdown.body.split()) in md
