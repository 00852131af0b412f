"""Every failure of the real `responder` command is one line saying what is wrong and what to do, with the exit code
the README documents, and no traceback (that only with --debug or RESPONDER_DEBUG=1); a failed command leaves no
file behind. Each case tracebacked, hung or misled (e.g. "not set up" for a file that is not a database) before."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cli_support import invoke
from resilience_support import Folder, clean_env, one_line_failure
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

BAD_INPUT, DATABASE = 2, 4


def test_a_command_on_no_database_says_so_and_creates_none(folder: Folder) -> None:
    result = folder.run("alert", "raise", "--level", "4", "--hazard", "flood", "--reason", "x", "--yes", "--no-send")
    one_line_failure(result, BAD_INPUT, "is not set up", "responder init")
    assert not (folder.root / "responder.db").exists(), "no empty database left behind"


def test_a_database_in_a_folder_that_does_not_exist(folder: Folder, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nowhere' / 'r.db'}"
    one_line_failure(folder.run("--db", url, "init"), DATABASE, "the folder", "does not exist")
    assert not (tmp_path / "nowhere").exists()


def test_a_file_that_is_not_a_database(folder: Folder) -> None:
    (folder.root / "notes.db").write_text("minutes of the flood meeting\n", encoding="utf-8")
    for command in (("init",), ("alert", "list")):
        one_line_failure(folder.run("--db", "sqlite:///notes.db", *command), DATABASE, "is not a responder database")
    assert (folder.root / "notes.db").read_text(encoding="utf-8") == "minutes of the flood meeting\n"


def test_postgresql_refusing_the_connection_hides_the_password(folder: Folder) -> None:
    refused = one_line_failure(folder.run("--db", "postgresql://duty:hunter2@127.0.0.1:1/responder", "alert", "list"),
                               DATABASE, "cannot reach the database server", "duty:***@127.0.0.1:1")
    assert "hunter2" not in refused


@pytest.mark.postgres
def test_postgresql_refusing_the_role_hides_the_password(folder: Folder, pg_url: str) -> None:
    host = pg_url.rsplit("@", 1)[1]
    role = one_line_failure(folder.run("--db", f"postgresql://nobody_here:hunter2@{host}", "init"), DATABASE,
                            "refused the login", "nobody_here")
    assert "hunter2" not in role


def test_invalid_settings_name_the_setting_and_never_show_a_secret(folder: Folder) -> None:
    one_line_failure(folder.run("alert", "list", env=clean_env(RESPONDER_SEND_CONCURRENCY="four")), BAD_INPUT,
                     "RESPONDER_SEND_CONCURRENCY", "'four'", "integer")
    # Text from the environment is shown as typed, never rendered as markup; a token's value is never shown.
    out = one_line_failure(folder.run("alert", "list", env=clean_env(RESPONDER_GATEWAY="[bold]sms[/bold]",
                                                                     RESPONDER_TWILIO_AUTH_TOKEN="tok-secret")),
                           BAD_INPUT, "RESPONDER_GATEWAY", "'[bold]sms[/bold]'")
    assert "tok-secret" not in out


def test_an_id_too_large_for_the_database(ready: Folder) -> None:
    one_line_failure(ready.run("alert", "status", "99999999999999999999"), BAD_INPUT, "too large")


def test_an_unusable_out_folder_is_refused_and_nothing_is_written(ready: Folder) -> None:
    raised = ready.run("alert", "raise", "--level", "4", "--hazard", "flood", "--reason", "x", "--yes", "--no-send")
    assert raised.returncode == 0, raised.stderr
    (ready.root / "in-the-way").write_text("a file, not a folder", encoding="utf-8")
    one_line_failure(ready.run("report", "1", "--out", "in-the-way/reports"), BAD_INPUT, "--out", "in-the-way")
    assert (ready.root / "in-the-way").read_text(encoding="utf-8") == "a file, not a folder"


def test_a_database_newer_than_the_program_is_named_and_not_upgraded(ready: Folder) -> None:
    with sqlite3.connect(ready.root / "responder.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    for command in (("alert", "list"), ("db", "upgrade")):
        out = one_line_failure(ready.run(*command), DATABASE, "0099_from_the_future", "newer responder")
        assert "run `responder db upgrade`" not in out


def test_the_database_busy_past_its_timeout_is_one_line(ready: Folder) -> None:
    holder = sqlite3.connect(ready.root / "responder.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        result = ready.run("alert", "raise", "--level", "4", "--hazard", "flood", "--reason", "x", "--yes",
                           "--no-send", env=clean_env(RESPONDER_DATABASE_BUSY_TIMEOUT_SECONDS="0.3"), timeout=20)
    finally:
        holder.rollback()
        holder.close()
    one_line_failure(result, DATABASE, "the database is busy")


def test_the_traceback_only_when_asked_for(folder: Folder) -> None:
    (folder.root / "notes.db").write_text("not a database", encoding="utf-8")
    result = folder.run("--db", "sqlite:///notes.db", "init", env=clean_env(RESPONDER_DEBUG="1"))
    assert result.returncode != 0 and "Traceback" in result.stdout + result.stderr
    # --debug lets the error through the boundary (typer prints its traceback), here caught in-process
    with pytest.raises(DatabaseError, match="file is not a database"):
        invoke(CliRunner(), "--db", f"sqlite:///{folder.root / 'notes.db'}", "--debug", "init", "--no-contacts")
