"""Errors a person can cause name what to fix: the option, the setting or the file, never '<input>'."""

from __future__ import annotations

from pathlib import Path

import pytest
from foundation_support import Invoke, Workspace


def test_lang_must_be_one_of_the_plans_languages(cli: Invoke, workspace: Workspace, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    result = cli(*workspace.options(db), "--lang", "fr", "plan", "show")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("--lang: error: language 'fr' is not one of the plan's (zh, en, in ")
    assert cli(*workspace.options(db), "--lang", "en", "plan", "show").exit_code == 0


def test_a_database_not_set_up_is_named(cli: Invoke, workspace: Workspace, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Named by what the officer typed: ``--db`` here, the variable when the database came from the environment."""
    db = f"sqlite:///{tmp_path / 'r.db'}"
    result = cli(*workspace.options(db), "alert", "list")
    assert result.exit_code == 2, result.output
    assert "<input>" not in result.output
    assert result.output.startswith(f"--db: error: the database {db} is not set up: run `responder init` first")
    options = [o for o in workspace.options(db) if o not in ("--db", db)]
    monkeypatch.setenv("RESPONDER_DATABASE_URL", db)
    from_environment = cli(*options, "alert", "list")
    assert from_environment.exit_code == 2, from_environment.output
    assert from_environment.output.startswith(f"RESPONDER_DATABASE_URL: error: the database {db} is not set up")


def test_a_database_url_that_is_no_url_names_the_option(cli: Invoke, workspace: Workspace, tmp_path: Path) -> None:
    result = cli("--db", str(tmp_path / "r.db"), "alert", "list")
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"--db: error: cannot use database URL '{tmp_path / 'r.db'}'")


def test_init_with_a_roster_that_is_not_there_fails_located(cli: Invoke, workspace: Workspace,
                                                             tmp_path: Path) -> None:
    """It exited 0 with nobody loaded: the officer found out at the first alert."""
    db = f"sqlite:///{tmp_path / 'r.db'}"
    missing = tmp_path / "missing.csv"
    for args in (("init", "--roster", str(missing)), ("--roster", str(missing), "init")):
        result = cli("--db", db, "--plan", str(workspace.path("config/plan.yaml")), *args)
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"{missing} --roster: error: file not found"), result.output
    assert cli("--db", db, "--plan", str(workspace.path("config/plan.yaml")), "init", "--roster",
               str(missing), "--no-contacts").exit_code == 0
