"""``responder duty now``: the duty officer and their deputy at a given time, from the rota."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from foundation_support import ROSTER, ROTA, Invoke, Workspace

from responder.app.duty import on_duty
from responder.configfiles.roster_csv import read_roster
from responder.configfiles.rota_csv import parse_local_time, read_rota

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def db(cli: Invoke, workspace: Workspace, sqlite_url: str) -> str:
    assert cli(*workspace.options(sqlite_url), "init").exit_code == 0
    return sqlite_url


def test_duty_now_shows_officer_and_deputy(cli: Invoke, workspace: Workspace, db: str) -> None:
    result = cli(*workspace.options(db), "duty", "now", "--at", "2027-07-01 09:00")
    assert result.exit_code == 0, result.output
    assert "duty officer at 2027-07-01 09:00:00 CST: 李乙 (O002) +8617400015838" in result.output
    assert "shift: 2027-07-01 08:00:00 CST → 2027-07-02 08:00:00 CST" in result.output
    assert "deputy: 李甲 (O001) +8617400007919" in result.output


def test_duty_now_as_json_in_utc(cli: Invoke, workspace: Workspace, db: str) -> None:
    result = cli(*workspace.options(db), "duty", "now", "--at", "2027-07-02 07:59", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["officer"]["id"], data["deputy"]["id"]) == ("O002", "O001")
    assert data["shift"] == {"from": "2027-07-01T00:00:00+00:00", "to": "2027-07-02T00:00:00+00:00"}


def test_duty_now_outside_the_season_is_the_plans_stand_in_as_for_an_alert(cli: Invoke, workspace: Workspace,
                                                                            db: str) -> None:
    """``alert raise`` uses the plan's duty.fallback outside the rota; ``duty now`` said nobody was on duty (exit 1)."""
    result = cli(*workspace.options(db), "duty", "now", "--at", "2026-12-01 09:00")
    assert result.exit_code == 0, result.output
    assert "duty officer at 2026-12-01 09:00:00 CST: 李甲 (O001) +8617400007919, the plan's stand-in" in result.output
    data = json.loads(cli(*workspace.options(db), "duty", "now", "--at", "2026-12-01 09:00", "--json").stdout)
    assert (data["officer"]["id"], data["stand_in"], data["shift"]) == ("O001", True, None)


def test_duty_now_outside_every_shift_with_no_stand_in(cli: Invoke, workspace: Workspace, db: str) -> None:
    workspace.edit("config/plan.yaml", "  fallback: O001", "  fallback:")
    result = cli(*workspace.options(db), "duty", "now", "--at", "2026-12-01 09:00")
    assert result.exit_code == 1
    assert "nobody is on duty at 2026-12-01 09:00:00 CST" in result.output
    assert "deputy:" not in result.output


def test_duty_now_refuses_a_bad_time(cli: Invoke, workspace: Workspace, db: str) -> None:
    result = cli(*workspace.options(db), "duty", "now", "--at", "tomorrow morning")
    assert result.exit_code == 2
    assert "--at: error: 'tomorrow morning' is not a time" in result.output


def test_on_duty_at_the_change_of_shift(workspace: Workspace) -> None:
    """The Python API gives the same answer as the CLI; a shift starts at its 'from' and ends before its 'to'."""
    rota = read_rota(workspace.path(ROTA), SHANGHAI)
    roster = read_roster(workspace.path(ROSTER), "CN").roster
    before, at = (on_duty(rota, roster, parse_local_time(t, SHANGHAI))
                  for t in ("2027-07-01 07:59:59", "2027-07-01 08:00"))
    assert (before.officer and before.officer.id, at.officer and at.officer.id) == ("O004", "O002")
    assert at.shift is not None and at.shift.line == workspace.line_of(ROTA, "2027-07-01 08:00,2027-07-02")
