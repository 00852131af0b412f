"""``responder init`` and ``responder contacts`` through the real CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from foundation_support import ROSTER, Invoke, Workspace
from sqlalchemy import func, select

from responder.storage.db import make_engine
from responder.storage.models import PersonRow

DATA = Path(__file__).parent / "data"
NEWCOMER = "N001,新人甲,174 0090 0001,survey:member,鱼泉子,zh\n"


@pytest.fixture
def db(cli: Invoke, workspace: Workspace, db_url: str) -> str:
    """``db_url`` after ``responder init`` (which loads the 104 people of the sample roster)."""
    result = cli(*workspace.options(db_url), "init")
    assert result.exit_code == 0, result.output
    assert "loaded 104 people" in result.output
    return db_url


def people(cli: Invoke, workspace: Workspace, db_url: str, *options: str) -> dict[str, dict]:
    result = cli(*workspace.options(db_url), "contacts", "list", "--json", *options)
    assert result.exit_code == 0, result.output
    return {p["id"]: p for p in json.loads(result.stdout)}


def import_(cli: Invoke, workspace: Workspace, db_url: str, file: Path, *options: str):
    return cli(*workspace.options(db_url), "contacts", "import", str(file), *options)


def change_r004_and_add_newcomer(workspace: Workspace) -> None:
    workspace.edit(ROSTER, "R004,王乙,174 0009 5028,rescue:member,",
                   "R004,王乙,174 0099 5028,rescue:member;militia:member,")
    workspace.path(ROSTER).write_text(workspace.text(ROSTER) + NEWCOMER, encoding="utf-8")


def test_init_twice_is_safe(cli: Invoke, workspace: Workspace, db: str) -> None:
    again = cli(*workspace.options(db), "init")
    assert again.exit_code == 0, again.output
    assert "is up to date (schema" in again.output
    assert "loaded" not in again.output
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(PersonRow)) == 104
    finally:
        engine.dispose()
    assert len(people(cli, workspace, db)) == 104


def test_sqlite_database_is_in_wal_mode(cli: Invoke, workspace: Workspace, tmp_path: Path) -> None:
    file = tmp_path / "wal.db"
    assert cli(*workspace.options(f"sqlite:///{file}"), "init", "--no-contacts").exit_code == 0
    with sqlite3.connect(file) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def test_import_upserts_and_dry_run_writes_nothing(cli: Invoke, workspace: Workspace, db: str) -> None:
    before = people(cli, workspace, db)
    change_r004_and_add_newcomer(workspace)

    dry = import_(cli, workspace, db, workspace.path(ROSTER), "--dry-run")

    assert dry.exit_code == 0, dry.output
    assert "+ N001" in dry.output and "~ R004" in dry.output
    assert "would add 1, would change 1, unchanged 103 (dry run: nothing written)" in dry.output
    assert people(cli, workspace, db) == before

    result = import_(cli, workspace, db, workspace.path(ROSTER))

    assert result.exit_code == 0, result.output
    assert "+ N001 新人甲 +8617400900001 survey" in result.output
    assert "~ R004 王乙: phone: +8617400095028 → +8617400995028; groups: " in result.output
    assert "added 1, changed 1, unchanged 103" in result.output
    after = people(cli, workspace, db)
    assert len(after) == 105
    assert after["R004"]["phone"] == "+8617400995028"
    assert after["R004"]["groups"] == {"militia": "member", "rescue": "member"}
    assert after["N001"] == {"id": "N001", "name": "新人甲", "phone": "+8617400900001", "language": "zh",
                             "village": "鱼泉子", "groups": {"survey": "member"}}
    again = import_(cli, workspace, db, workspace.path(ROSTER))
    assert "added 0, changed 0, unchanged 105" in again.output


def test_two_people_swapping_phones(cli: Invoke, workspace: Workspace, db: str) -> None:
    before = people(cli, workspace, db)
    workspace.edit(ROSTER, "+86 174 0003 9595", "PHONE-OF-C004")
    workspace.edit(ROSTER, "+86 174 0006 3352", "+86 174 0003 9595")
    workspace.edit(ROSTER, "PHONE-OF-C004", "+86 174 0006 3352")

    result = import_(cli, workspace, db, workspace.path(ROSTER))

    assert result.exit_code == 0, result.output
    assert "added 0, changed 2, unchanged 102" in result.output
    after = people(cli, workspace, db)
    assert (after["C001"]["phone"], after["C004"]["phone"]) == (before["C004"]["phone"], before["C001"]["phone"])


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("several-bad-rows.csv", [
            ":3 phone: error: '12345' is not a valid phone number",
            ":4 groups: error: unknown group 'floods'",
            ":5 id: error: duplicate id 'N001' (first on line 2)",
            ":6 name: error: name is empty",
            ":6 groups: error: 'survey:boss': role must be leader, deputy or member",
            ":7 language: error: language 'fr' is not one of the plan's",
        ]),
        ("phone-of-someone-else.csv", [":2 phone: error: phone +8617400007919 belongs to 'O001' in the database"]),
    ],
)
def test_bad_rows_write_nothing_and_are_all_listed(
    cli: Invoke, workspace: Workspace, db: str, file: str, expected: list[str]
) -> None:
    before = people(cli, workspace, db)
    for options in ([], ["--dry-run"]):
        result = import_(cli, workspace, db, DATA / file, *options)

        assert result.exit_code == 2, result.output
        reported = [line for line in result.output.splitlines() if ": error: " in line]
        assert len(reported) == len(expected), result.output
        for line, fragment in zip(reported, expected, strict=True):
            assert line.startswith(str(DATA / file) + fragment.split(" ")[0] + " ")
            assert fragment in line
    assert people(cli, workspace, db) == before


def test_list_a_group_as_json_with_chinese_names_intact(cli: Invoke, workspace: Workspace, db: str) -> None:
    survey = people(cli, workspace, db, "--group", "survey")
    assert {pid: p["groups"] for pid, p in survey.items()} == {
        "Y001": {"survey": "leader"}, "Y002": {"survey": "deputy"}, "Y003": {"survey": "member"}}
    assert survey["Y001"] == {"id": "Y001", "name": "陈丁", "phone": "+8617400356355", "language": "zh",
                              "village": "鱼泉子", "groups": {"survey": "leader"}}
    unknown = cli(*workspace.options(db), "contacts", "list", "--group", "surveys")
    assert unknown.exit_code == 2
    assert "--group: error: unknown group 'surveys'" in unknown.output

    with workspace.path(ROSTER).open(encoding="utf-8", newline="") as f:
        written = {row["id"]: (row["name"], row["village"]) for row in csv.DictReader(f)}
    stored = people(cli, workspace, db)
    assert {pid: (p["name"], p["village"]) for pid, p in stored.items()} == written
    table = cli(*workspace.options(db), "contacts", "list", "--group", "office")
    assert "李甲" in table.output and "鱼泉子" in table.output
