"""`responder alert ...` through the real CLI: raise and its refusals, list, status and timeline (tables and JSON),
and the audit trail that nothing can rewrite."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_support import (
    DUTY_OFFICER,
    REASON,
    REPO,
    Cli,
    cli_runner,
    execute_raw,
    expected_groups,
    outbox,
    raw_roster,
    row_counts,
)
from sqlalchemy.exc import DBAPIError

from responder.app.alerts import change_level, raise_alert
from responder.domain.clock import FakeClock
from responder.gateways.base import PermanentError, RetryableError
from responder.gateways.fake import FakeGateway
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher

FAKE = {"RESPONDER_GATEWAY": "fake"}


def make_cli(ctx: AppContext, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock,
             env: dict[str, str]) -> Iterator[Cli]:
    for invoke in cli_runner(monkeypatch, tmp_path, clock, env):
        yield Cli(ctx.settings.database_url, invoke)


@pytest.fixture
def cli(sqlite_ctx: AppContext, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock) -> Iterator[Cli]:
    yield from make_cli(sqlite_ctx, monkeypatch, tmp_path, clock, FAKE)


@pytest.fixture
def cli_both(ctx: AppContext, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock) -> Iterator[Cli]:
    """The CLI on the ``ctx`` database, SQLite and PostgreSQL."""
    yield from make_cli(ctx, monkeypatch, tmp_path, clock, FAKE)


# -- raise ----------------------------------------------------------------------------------------------------------
def test_raise_without_yes_off_a_terminal_shows_the_preview_then_refuses_writing_nothing(
        cli_both: Cli, ctx: AppContext) -> None:
    before = row_counts(ctx)
    result = cli_both("alert", "raise", "--level", "2", "--hazard", "flood", "--reason", REASON)
    assert result.exit_code == 2, result.output
    assert "flood level 2 (橙色): 63 people in 10 groups will be called" in result.output
    assert "抢险组 (rescue)" in result.output and "2 × UCS-2" in result.output
    assert "refused: not a terminal, so nobody can confirm; add --yes" in result.output
    assert row_counts(ctx) == before


def test_raise_with_yes_and_no_send_queues_the_call_out(cli: Cli, sqlite_ctx: AppContext) -> None:
    result = cli("alert", "raise", "-l", "2", "-r", REASON, "--by", "李乙", "--yes", "--no-send")
    assert result.exit_code == 0, result.output
    code = re.search(r"incident #1 \(code (\w+)\) raised: level 2, 63 recipients, 63 messages queued", result.output)
    assert code, result.output
    assert "63 messages queued; run `responder dispatch` to send them" in result.output
    rows = outbox(sqlite_ctx)
    assert len(rows) == 63 and {r.status for r in rows} == {"pending"}

    # The separate worker sends them.
    sent = cli("dispatch", "--once")
    assert sent.exit_code == 0, sent.output
    assert "dispatching through the fake gateway" in sent.output and "sent 63, failed 0" in sent.output
    assert {r.status for r in outbox(sqlite_ctx)} == {"sent"}


def test_raise_with_yes_sends_in_process_with_a_summary(cli: Cli, sqlite_ctx: AppContext) -> None:
    result = cli("alert", "raise", "-l", "4", "-r", REASON, "--yes")
    assert result.exit_code == 0, result.output
    total = len(outbox(sqlite_ctx))
    assert f"sent {total}, failed 0, to retry later 0" in result.output
    assert {r.status for r in outbox(sqlite_ctx)} == {"sent"}
    # Without --by: the duty officer on the rota decided.
    timeline = json.loads(cli("alert", "timeline", "1", "--json").output)
    assert timeline[0]["actor"] == f"{raw_roster()[DUTY_OFFICER].name} ({DUTY_OFFICER})"


BAD_INPUT = [
    (["alert", "raise", "-l", "5", "-r", REASON, "--yes"], 2, "unknown level 5"),
    (["alert", "raise", "-l", "2", "--hazard", "tsunami", "-r", REASON, "--yes"], 2, "unknown hazard 'tsunami'"),
    (["alert", "raise", "-l", "2", "-r", "见 http://sl.example.cn", "--yes"], 2, "contains a URL"),
    (["alert", "raise", "-l", "2", "-r", "龙" * 301, "--yes"], 2, "reason is 301 characters"),
    (["alert", "upgrade", "99", "-l", "1", "-r", "x", "--yes"], 2, "no incident #99"),
    (["alert", "downgrade", "99", "-l", "3", "-r", "x", "--yes"], 2, "no incident #99"),
    (["alert", "end", "99", "--yes"], 2, "no incident #99"),
    (["alert", "status", "99"], 2, "no incident #99"),
    (["alert", "timeline", "99", "--json"], 2, "no incident #99"),
]


def test_bad_input_is_a_clear_message_a_non_zero_exit_and_nothing_written(cli_both: Cli, ctx: AppContext) -> None:
    before = row_counts(ctx)
    for args, exit_code, message in BAD_INPUT:
        result = cli_both(*args)
        assert result.exit_code == exit_code, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert row_counts(ctx) == before


def test_state_conflicts_through_the_cli(cli: Cli, sqlite_ctx: AppContext) -> None:
    assert cli("alert", "raise", "-l", "2", "-r", REASON, "--yes", "--no-send").exit_code == 0
    before = row_counts(sqlite_ctx)
    again = cli("alert", "raise", "-l", "1", "-r", REASON, "--yes", "--no-send")
    assert again.exit_code == 3 and "a flood incident is already open for sanjian: #1" in again.output
    wrong_way = cli("alert", "upgrade", "1", "-l", "3", "-r", "x", "--yes")
    assert wrong_way.exit_code == 2, wrong_way.output
    assert wrong_way.output.startswith("--level: error: incident #1 is at level 2: level 3 would be a downgrade, "
                                       "not an upgrade (1 is the most severe)"), "no '<input>', no 'an downgrade'"
    other_way = cli("alert", "downgrade", "1", "-l", "1", "-r", "x", "--yes")
    assert other_way.exit_code == 2 and "level 1 would be an upgrade, not a downgrade" in other_way.output
    assert row_counts(sqlite_ctx) == before

    ended = cli("alert", "end", "1", "--yes", "--no-send")
    assert ended.exit_code == 0 and "incident #1" in ended.output and "ended" in ended.output
    before = row_counts(sqlite_ctx)
    twice = cli("alert", "end", "1", "--yes", "--no-send")
    assert twice.exit_code == 3 and "has already ended" in twice.output
    late = cli("alert", "upgrade", "1", "-l", "1", "-r", "x", "--yes")
    assert late.exit_code == 3 and "has already ended" in late.output
    assert row_counts(sqlite_ctx) == before


def test_missing_twilio_settings_stop_the_raise_before_anything_is_written(
        sqlite_ctx: AppContext, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock) -> None:
    cli = next(make_cli(sqlite_ctx, monkeypatch, tmp_path, clock, {"RESPONDER_GATEWAY": "twilio"}))
    before = row_counts(sqlite_ctx)
    result = cli("alert", "raise", "-l", "2", "-r", REASON, "--yes")
    assert result.exit_code == 2, result.output
    assert "RESPONDER_TWILIO_ACCOUNT_SID is required when RESPONDER_GATEWAY=twilio" in result.output
    assert row_counts(sqlite_ctx) == before, "an incident nobody can send is not raised"


# -- list, status, timeline ---------------------------------------------------------------------------------------
@pytest.fixture
def incident(sqlite_ctx: AppContext) -> int:
    """Raised at level 2 and sent with one permanent failure (R005), reported; 20 minutes later upgraded to 1 and
    sent again, R005 failing again and one militia member (L003) waiting for a retry."""
    clock = sqlite_ctx.clock
    assert isinstance(clock, FakeClock)
    raised = raise_alert(sqlite_ctx, "flood", 2, REASON, "李乙 (O002)")
    gateway = FakeGateway(clock=clock)
    number = {r.person_id: r.to_number for r in outbox(sqlite_ctx)}
    gateway.fail_numbers({number["R005"]: PermanentError("The 'To' number is not a valid phone number.",
                                                         code="21211")})
    Dispatcher(sqlite_ctx, gateway).drain()
    clock.advance(timedelta(minutes=20))
    change_level(sqlite_ctx, raised.incident_id, 1, "上游水库溃坝", "李乙 (O002)")
    number = {r.person_id: r.to_number for r in outbox(sqlite_ctx)}
    gateway.fail_numbers({number["L003"]: RetryableError("HTTP 503", code="20503")})
    Dispatcher(sqlite_ctx, gateway).drain()
    return raised.incident_id


def test_list_shows_incidents_newest_first(cli: Cli, sqlite_ctx: AppContext, incident: int) -> None:
    raise_alert(sqlite_ctx, "drought", 4, "连续20天无有效降雨", "tester")
    listed = json.loads(cli("alert", "list", "--json").output)
    assert [(i["id"], i["hazard"], i["level"], i["status"]) for i in listed] == [(2, "drought", 4, "open"),
                                                                                 (1, "flood", 1, "open")]
    assert set(listed[0]) == {"id", "code", "hazard", "level", "status", "is_drill", "raised_at", "ended_at",
                              "reason"}
    table = cli("alert", "list")
    assert table.exit_code == 0
    lines = [line for line in table.output.splitlines() if "flood" in line or "drought" in line]
    assert "drought" in lines[0] and "flood" in lines[1]
    assert "2027-07-01 09:00:00 CST" in lines[1], "times in the plan's zone"
    assert "上游" not in table.output and REASON in lines[1], "the reason the incident was raised with"


def test_status_per_group_with_the_unreachable_named(cli: Cli, incident: int) -> None:
    result = cli("alert", "status", str(incident), "--json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert (status["id"], status["level"], status["status"]) == (incident, 1, "open")
    groups = {g["group"]: g for g in status["groups"]}
    wanted = expected_groups("flood", 1)
    assert set(groups) == set(wanted)
    for gid, g in groups.items():
        assert g["called"] == len(wanted[gid]), gid
        assert sum(g["counts"].values()) == g["called"]
    rescue = groups["rescue"]
    assert rescue["counts"] == {"sent": 13, "failed": 1} and rescue["unreachable"] == [raw_roster()["R005"].name]
    assert groups["militia"]["counts"] == {"sent": 9, "pending": 1} and groups["militia"]["unreachable"] == []
    assert rescue["required"] == 12 and rescue["confirmed"] == 0
    assert status["totals"]["failed"] == 2 and status["totals"]["pending"] == 1, "R005 twice; L003 retrying"
    people = {p["person_id"]: p for p in status["people"]}
    assert people["R005"]["delivery"] == "failed" and people["ext:+8617400009999"]["groups"] == []

    table = cli("alert", "status", str(incident))
    assert table.exit_code == 0, table.output
    [rescue_line] = [line for line in table.output.splitlines() if "(rescue)" in line]
    cells = [c.strip() for c in re.split(r"[│┃|]", rescue_line) if c.strip()]
    assert cells[:6] == ["抢险组 (rescue)", "14", "0", "13", "0", "1"], cells
    [militia_line] = [line for line in table.output.splitlines() if "(militia)" in line]
    assert [c.strip() for c in re.split(r"[│┃|]", militia_line) if c.strip()][:6] == [
        "民兵连 (militia)", "10", "1", "9", "0", "0"]
    assert cells[-1] == raw_roster()["R005"].name
    assert "also told: 县防汛办值班室 (sent)" in table.output


def test_status_in_a_process_that_has_not_read_the_snapshot_yet(cli: Cli, incident: int,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The officer's main screen, first thing in a new process: the snapshot's columns load on first read, which
    crashed with DetachedInstanceError once the session was closed (the tests had it parsed already)."""
    from responder.app import incident_basis

    monkeypatch.setattr(incident_basis, "_SNAPSHOTS", {})
    result = cli("alert", "status", str(incident))
    assert result.exit_code == 0, result.output
    assert "(rescue)" in result.output


def test_timeline_in_order_with_who_when_what_why_and_evidence(cli: Cli, incident: int) -> None:
    result = cli("alert", "timeline", str(incident), "--json")
    assert result.exit_code == 0, result.output
    events = json.loads(result.output)
    assert [e["kind"] for e in events] == ["raised", "delivery_failed", "upgraded"]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    raised, failed, upgraded = events
    assert (raised["actor"], raised["reason"], raised["evidence"]["level"]) == ("李乙 (O002)", REASON, 2)
    assert raised["evidence"]["groups"]["rescue"] == 14
    assert failed["actor"] == "dispatcher" and failed["evidence"]["people"] == ["R005"]
    assert "21211" in failed["evidence"]["errors"]["R005"]
    assert (upgraded["reason"], upgraded["evidence"]["from"], upgraded["evidence"]["to"]) == ("上游水库溃坝", 2, 1)
    assert upgraded["at"] > raised["at"]

    table = cli("alert", "timeline", str(incident))
    assert table.exit_code == 0
    text = table.output
    assert text.index("raised") < text.index("delivery_failed") < text.index("upgraded")
    assert "2027-07-01 09:00:00 CST" in text and "2027-07-01 09:20:00 CST" in text
    assert "上游水库溃坝" in text and '"from": 2' in text


# -- the audit trail ----------------------------------------------------------------------------------------------
def test_audit_events_cannot_be_updated_or_deleted(ctx: AppContext) -> None:
    raise_alert(ctx, "flood", 2, REASON, "tester")
    before = row_counts(ctx)
    with pytest.raises(DBAPIError, match="append-only"):
        execute_raw(ctx, "UPDATE audit_events SET summary = 'rewritten'")
    with pytest.raises(DBAPIError, match="append-only"):
        execute_raw(ctx, "DELETE FROM audit_events")
    assert row_counts(ctx) == before


def test_no_code_path_updates_or_deletes_audit_events() -> None:
    pattern = re.compile(r"(update|delete)\(\s*AuditEventRow|(UPDATE|DELETE FROM)\s+audit_events", re.IGNORECASE)
    offenders = [str(path.relative_to(REPO)) for path in (REPO / "responder").rglob("*.py")
                 if "migrations" not in path.parts and pattern.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
