"""Feeds to call-out: a rising river crosses the warning level → proposal → confirm → SMS out.

Real databases, the sample plan's stations and rules, a CSV feed file, the fake gateway and a fake clock.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from responder.app.feed_cycle import add_reading, manual_report, run_cycle
from responder.app.proposals import decide, pending_proposals
from responder.cli.main import app
from responder.domain.clock import FakeClock
from responder.gateways.fake import FakeGateway
from responder.storage.models import AuditEventRow, IncidentRow, OutboxRow, ProposalRow
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher

REPO = Path(__file__).resolve().parents[2]


def write_river(ctx: AppContext, path: Path, clock: FakeClock, stages: list[float]) -> None:
    """The county's CSV: one stage every 15 minutes up to now, in local time."""
    zone = ctx.plan.area.zone
    start = clock.now() - timedelta(minutes=15 * (len(stages) - 1))
    lines = ["station,time,value"]
    for i, stage in enumerate(stages):
        when = (start + timedelta(minutes=15 * i)).astimezone(zone).strftime("%Y-%m-%d %H:%M")
        lines.append(f"longhe-town,{when},{stage:.2f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def with_feed_files(ctx: AppContext, tmp_path: Path) -> AppContext:
    """The sample plan, its feeds pointed at files in tmp_path."""
    plan = ctx.plan.model_copy(update={"feeds": [f.model_copy(update={"path": str(tmp_path / f"{f.id}.csv")})
                                                  if f.path else f for f in ctx.plan.feeds]})
    ctx.__dict__["plan_file"] = ctx.plan_file.__class__(plan, ctx.plan_file.filename, ctx.plan_file.lines)
    (tmp_path / "county-rain.csv").write_text("station,time,value\n", encoding="utf-8")
    return ctx


def test_rising_river_is_proposed_confirmed_and_called_out(ctx: AppContext, clock: FakeClock, tmp_path: Path) -> None:
    ctx = with_feed_files(ctx, tmp_path)
    river = tmp_path / "county-river.csv"
    stages = [3.00 + 0.07 * i for i in range(4)]  # 0.28 m/h: under the 0.3 m/h rate-of-rise limit
    proposed: dict[float, list[tuple[str, int | None, str]]] = {}
    while stages[-1] < 4.75:
        write_river(ctx, river, clock, stages)
        cycle = run_cycle(ctx)
        assert all(f.ok for f in cycle.feeds), cycle.feeds
        assert cycle.snapshots["longhe-town"].value == round(stages[-1], 2)
        proposed[round(stages[-1], 2)] = [(p.action, p.level, p.status) for p in cycle.proposals]
        clock.advance(timedelta(minutes=15))
        stages.append(stages[-1] + 0.07)
    fired = {stage: p for stage, p in proposed.items() if p}
    # 1.0 m below the warning level (4.5) → level 4, 0.5 m below → 3, at it → 2: each proposed once, when crossed
    assert fired == {3.56: [("raise", 4, "pending")], 4.05: [("raise", 3, "pending")],
                     4.54: [("raise", 2, "pending")]}
    with ctx.sessions() as session:
        assert session.scalar(select(IncidentRow)) is None  # proposed, not declared
        told = session.scalars(select(OutboxRow).where(OutboxRow.kind == "proposal")).all()
    assert len(told) == 3  # the duty officer got an SMS each time, with the evidence
    [upgraded] = pending_proposals(ctx)  # the earlier ones were superseded
    assert upgraded.level == 2

    confirmed = decide(ctx, upgraded.id, "李乙 (O002)", confirm=True)
    assert confirmed.status == "confirmed" and confirmed.incident_id is not None
    gateway = FakeGateway(clock=clock)
    Dispatcher(ctx, gateway, concurrency=1).drain()
    with ctx.sessions() as session:
        incident = session.get(IncidentRow, confirmed.incident_id)
        assert incident is not None and incident.level == 2 and incident.hazard == "flood"
        callouts = session.scalars(select(OutboxRow).where(OutboxRow.kind == "callout")).all()
        raised = session.scalar(select(AuditEventRow).where(AuditEventRow.kind == "raised"))
        row = session.get(ProposalRow, upgraded.id)
    assert len(callouts) == 63 and all(m.status == "sent" for m in callouts)
    assert {r.to for r in gateway.sms} >= {m.to_number for m in callouts}
    assert raised is not None and raised.evidence["trigger"]["station"] == "longhe-town"
    assert raised.evidence["trigger"]["value"] >= 4.5 and raised.evidence["trigger"]["rule"] == "river-warning"
    assert row is not None and row.status == "confirmed" and row.incident_id == incident.id


def test_auto_rule_declares_at_once_and_dam_break_report_goes_to_level_1(sqlite_ctx: AppContext,
                                                                           clock: FakeClock) -> None:
    ctx = sqlite_ctx
    rules = [r.model_copy(update={"mode": "auto"}) if r.id in ("river-warning", "dam-break") else r
             for r in ctx.plan.rules]
    plan = ctx.plan.model_copy(update={"rules": rules})
    ctx.__dict__["plan_file"] = ctx.plan_file.__class__(plan, ctx.plan_file.filename, ctx.plan_file.lines)
    report = add_reading(ctx, "longhe-town", 4.55, None, "duty staff")
    [declared] = report.proposals
    assert (declared.status, declared.action, declared.level) == ("declared", "raise", 2)
    clock.advance(timedelta(minutes=5))
    upgraded = manual_report(ctx, "dam_break", "longhe-town", 1.0, "李乙 (O002)", note="上游水库溃坝（电话）")
    [up] = upgraded.proposals
    assert (up.status, up.action, up.level) == ("declared", "upgrade", 1)
    with ctx.sessions() as session:
        incident = session.scalar(select(IncidentRow))
        kinds = [e.kind for e in session.scalars(select(AuditEventRow).order_by(AuditEventRow.id))]
    assert incident is not None and incident.level == 1
    assert "manual_report" in kinds and kinds.count("auto_declare") == 2


def test_feeds_check_and_quarantine_through_the_cli(tmp_path: Path) -> None:
    """A bad row is quarantined with its reason, a broken feed is reported, and the cycle goes on."""
    import shutil

    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "contacts", tmp_path / "contacts")
    (tmp_path / "config" / "feeds" / "county-river.csv").write_text(
        "station,time,value\nlonghe-town,2026-07-01 08:00,abc\nnowhere,2026-07-01 08:00,1.0\n"
        "longhe-town,2026-07-01 08:15,2.40\n", encoding="utf-8")
    (tmp_path / "config" / "feeds" / "county-rain.csv").write_text("station;time\n", encoding="utf-8")
    base = ["--db", f"sqlite:///{tmp_path / 'r.db'}", "--plan", str(tmp_path / "config" / "plan.yaml"),
            "--roster", str(tmp_path / "contacts" / "roster.csv")]
    runner = CliRunner()
    assert runner.invoke(app, [*base, "init"]).exit_code == 0
    checked = runner.invoke(app, [*base, "feeds", "check", "--json"])
    assert checked.exit_code == 1, checked.output  # one feed failed; the others were read
    import json

    data = json.loads(checked.output)
    feeds = {f["feed"]: f for f in data["feeds"]}
    assert feeds["county-river"]["ok"] and feeds["county-river"]["inserted"] == 1
    assert feeds["county-river"]["rejected"] == 2
    assert not feeds["county-rain"]["ok"] and feeds["county-rain"]["error"]
    assert data["stations"]["longhe-town"]["value"] == 2.4
    table = runner.invoke(app, [*base, "feeds", "check"], env={"COLUMNS": "200"})
    assert table.exit_code == 1 and "county-rain" in table.output  # a failing feed: non-zero, shown
    quarantine = runner.invoke(app, [*base, "feeds", "quarantine", "--json"])
    reasons = " ".join(r["reason"] for r in json.loads(quarantine.output))
    assert "not a number" in reasons and "unknown station" in reasons


def test_feeds_check_counts_the_parameters_the_plan_does_not_map(tmp_path: Path) -> None:
    """A USGS feed with wind and another water-level code: counted per code in the table, the JSON and the
    feed status the cycle stores; the series in a unit we cannot convert is quarantined with its place."""
    import json
    import shutil

    from sqlalchemy.orm import Session

    from responder.storage.db import make_engine
    from responder.storage.feed_health import unknown_parameters

    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "contacts", tmp_path / "contacts")
    plan = tmp_path / "config" / "plan.yaml"
    fixture = REPO / "tests" / "feeds" / "data" / "usgs_iv_extra_parameters.json"
    text = plan.read_text(encoding="utf-8").replace("""  - id: duty-staff
""", f"""  - id: usgs-longhe
    kind: usgs
    path: {fixture}
  - id: duty-staff
""").replace("""stations:
""", """stations:
  - id: longhe-usgs
    name: {en: Long River (USGS)}
    kind: river
    feed: usgs-longhe
    source_id: "60812300"
""")
    plan.write_text(text, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    base = ["--db", db, "--plan", str(plan), "--roster", str(tmp_path / "contacts" / "roster.csv")]
    runner = CliRunner()
    assert runner.invoke(app, [*base, "init"]).exit_code == 0
    checked = runner.invoke(app, [*base, "feeds", "check", "--json", "--feed", "usgs-longhe"])
    assert checked.exit_code == 0, checked.output
    [usgs] = json.loads(checked.output)["feeds"]
    assert usgs["unknown_parameters"] == {"00035": 2, "00036": 1, "62614": 1}
    assert (usgs["inserted"], usgs["rejected"]) == (1, 1)
    table = runner.invoke(app, [*base, "feeds", "check", "--feed", "usgs-longhe"], env={"COLUMNS": "220"})
    assert "00035 ×2, 00036 ×1, 62614 ×1" in table.output, table.output
    engine = make_engine(db)
    with Session(engine) as session:
        assert unknown_parameters(session)["usgs-longhe"] == {"00035": 2, "00036": 1, "62614": 1}
    engine.dispose()
    quarantine = json.loads(runner.invoke(app, [*base, "feeds", "quarantine", "--json"]).output)
    assert [(q["station"], q["location"]) for q in quarantine] == [
        ("longhe-usgs", "timeSeries[5] USGS:60812300:00065:00000 variable.unit.unitCode")]
