"""Every command that acts on the plan refuses an invalid one with ``plan check``'s located errors.

A group-id typo at level 3 used to drop that group from the call-out without a word (16 people in 7 groups
instead of 20 in 8), and an unknown person in the escalation chain was accepted: only ``plan check`` said so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from foundation_support import PLAN, Invoke, Workspace

RAISE = ("alert", "raise", "--level", "3", "--hazard", "flood", "--reason", "test")


def problems(output: str) -> list[str]:
    return [line for line in output.splitlines() if ": error: " in line]


def break_level_3_rescue(workspace: Workspace) -> str:
    """The rescue group's id misspelt in the level 3 call-out; the located error ``plan check`` gives."""
    text = workspace.text(PLAN)
    at = text.index("      - level: 3")
    first = text.index("          - group: rescue", at)
    line = text[:first].count("\n") + 1
    workspace.path(PLAN).write_text(text[:first] + "          - group: rescu" + text[first + 25:], encoding="utf-8")
    return f"{workspace.path(PLAN)}:{line} hazards.0.callout.1.groups.2.group: error: unknown group 'rescu'"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'responder.db'}"


def test_raise_refuses_a_group_typo_in_the_call_out_matrix_as_plan_check_does(
        cli: Invoke, workspace: Workspace, db: str) -> None:
    assert cli(*workspace.options(db), "init").exit_code == 0
    expected = break_level_3_rescue(workspace)
    check = cli(*workspace.options(db), "plan", "check")
    assert check.exit_code == 2 and any(line.startswith(expected) for line in problems(check.output)), check.output
    for args in (RAISE, (*RAISE, "--yes")):
        result = cli(*workspace.options(db), *args)
        assert result.exit_code == 2, result.output
        assert problems(result.output) == problems(check.output)
        assert "will be called" not in result.output


def test_init_refuses_an_unknown_person_in_the_escalation_chain_writing_nothing(
        cli: Invoke, workspace: Workspace, db: str, tmp_path: Path) -> None:
    line = workspace.edit(PLAN, "targets: [{person: C002}]", "targets: [{person: C099}]")
    result = cli(*workspace.options(db), "init")
    assert result.exit_code == 2, result.output
    assert problems(result.output) == [f"{workspace.path(PLAN)}:{line} escalation_chain.1.targets.0.person: error: "
                                       "unknown person 'C099' (not in the roster)"]
    assert not (tmp_path / "responder.db").exists()


def test_a_plan_naming_someone_the_database_no_longer_has_is_refused(
        cli: Invoke, workspace: Workspace, db: str, tmp_path: Path) -> None:
    """Once people are loaded, the references are checked against the roster in force, not the file."""
    assert cli(*workspace.options(db), "init").exit_code == 0
    # C002 leaves (a roster import never deletes people, so mark the row as an administrator would).
    import sqlite3

    with sqlite3.connect(tmp_path / "responder.db") as conn:
        conn.execute("UPDATE people SET active = 0 WHERE id = 'C002'")
    result = cli(*workspace.options(db), *RAISE, "--yes")
    assert result.exit_code == 2, result.output
    assert any("escalation_chain.1.targets.0.person: error: unknown person 'C002'" in line
               for line in problems(result.output)), result.output


def test_status_of_an_incident_still_shows_under_a_plan_being_fixed(
        cli: Invoke, workspace: Workspace, db: str) -> None:
    """Reading what happened needs no valid plan: the incident carries its own snapshot."""
    assert cli(*workspace.options(db), "init").exit_code == 0
    assert cli(*workspace.options(db), *RAISE, "--yes", "--no-send").exit_code == 0
    break_level_3_rescue(workspace)
    result = cli(*workspace.options(db), "alert", "status", "1")
    assert result.exit_code == 0, result.output


def test_contacts_import_bringing_in_the_person_the_plan_names_is_not_refused(
        cli: Invoke, workspace: Workspace, db: str, tmp_path: Path) -> None:
    """The plan is checked against the roster the import puts in force, not the one it replaces: a plan naming a
    newcomer must not stop the very import that brings them in."""
    assert cli(*workspace.options(db), "init").exit_code == 0
    workspace.edit(PLAN, "targets: [{person: C002}]", "targets: [{person: N001}]")
    assert cli(*workspace.options(db), *RAISE, "--yes", "--no-send").exit_code == 2, "N001 is nobody yet"
    roster = workspace.path("contacts/roster.csv")
    newcomer = tmp_path / "with-n001.csv"
    newcomer.write_text(roster.read_text(encoding="utf-8").rstrip("\n")
                        + "\nN001,新甲,174 0001 2345,command:member,三建场镇,zh\n", encoding="utf-8")
    imported = cli(*workspace.options(db), "contacts", "import", str(newcomer))
    assert imported.exit_code == 0, imported.output
    assert cli(*workspace.options(db), *RAISE, "--yes", "--no-send").exit_code == 0
