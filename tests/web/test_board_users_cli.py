"""``responder users`` end to end through the real CLI, on SQLite and PostgreSQL, and the board obeying it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from board_auth_support import Browser, board_app
from cli_support import invoke
from sqlalchemy import select
from typer.testing import CliRunner, Result
from web_hooks_support import AsgiClient

from responder.storage.board_models import BoardUserRow
from responder.storage.models import AuditEventRow
from responder.wiring import AppContext

REPO = Path(__file__).resolve().parents[2]
Run = Callable[..., Result]


@pytest.fixture
def users(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    for name, value in (("RESPONDER_PLAN_FILE", REPO / "config" / "plan.yaml"),
                        ("RESPONDER_ROSTER_FILE", REPO / "contacts" / "roster.csv"), ("COLUMNS", "200")):
        monkeypatch.setenv(name, str(value))
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return invoke(runner, "--db", ctx.settings.database_url, "users", *args, input=input)

    yield run


def rows(ctx: AppContext) -> dict[str, BoardUserRow]:
    with ctx.sessions() as session:
        return {r.username: r for r in session.scalars(select(BoardUserRow))}


def test_users_add_list_disable_passwd(ctx: AppContext, users: Run) -> None:
    run = users
    added = run("add", "Olga", "--role", "officer", input="a long password\na long password\n")
    assert added.exit_code == 0, added.output
    assert "added board user olga as officer" in added.output
    assert "a long password" not in added.output  # the prompt does not echo it
    piped = run("add", "victor", "--role", "VIEWER", "--password-stdin", input="viewer password 1\n")
    assert piped.exit_code == 0, piped.output
    stored = rows(ctx)
    assert {n: r.role for n, r in stored.items()} == {"olga": "officer", "victor": "viewer"}
    assert stored["olga"].password_hash.startswith("$argon2id$") and "long" not in stored["olga"].password_hash

    listed = run("list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(u["username"], u["role"], u["active"]) for u in json.loads(listed.output)] == [
        ("olga", "officer", True), ("victor", "viewer", True)]
    table = run("list")
    assert "2 board users" in table.output and "officer" in table.output

    with AsgiClient(board_app(ctx), base_url="https://testserver") as client:
        browser = Browser(client)
        assert browser.sign_in("olga", "a long password").status_code == 303
        assert client.get("/test/page").status_code == 200
        disabled = run("disable", "olga")
        assert disabled.exit_code == 0 and "disabled" in disabled.output
        assert client.get("/test/page").status_code == 303  # signed out at the next request
        assert browser.sign_in("olga", "a long password").status_code == 401
        assert run("enable", "olga").exit_code == 0
        assert browser.sign_in("olga", "a long password").status_code == 303

        new = run("passwd", "victor", "--password-stdin", input="a new viewer password\n")
        assert new.exit_code == 0, new.output
        assert browser.sign_in("victor", "viewer password 1").status_code == 401
        assert browser.sign_in("victor", "a new viewer password").status_code == 303
        assert "role=viewer" in client.get("/test/page").text
        promoted = run("role", "victor", "officer")
        assert promoted.exit_code == 0 and "victor is now officer" in promoted.output
        assert client.get("/test/page").status_code == 303  # signed out: the new role from the next sign-in
        browser.sign_in("victor", "a new viewer password")
        assert "role=officer" in client.get("/test/page").text
        assert run("role", "victor", "chief").exit_code == 2

    assert [json.loads(run("list", "--json").output)[0]["active"]] == [True]
    with ctx.sessions() as session:
        events = list(session.scalars(select(AuditEventRow).where(AuditEventRow.kind.like("board_user_%"))
                                      .order_by(AuditEventRow.id)))
    assert [e.kind for e in events] == ["board_user_added", "board_user_added", "board_user_disabled",
                                        "board_user_enabled", "board_user_password", "board_user_role"]
    assert all(e.actor.startswith("cli") for e in events)


def test_users_refuses_bad_input_and_writes_nothing(ctx: AppContext, users: Run) -> None:
    run = users
    bad_role = run("add", "olga", "--role", "boss", "--password-stdin", input="a long password\n")
    assert bad_role.exit_code == 2 and "--role" in bad_role.output and "viewer, officer, admin" in bad_role.output
    short = run("add", "olga", "--role", "officer", "--password-stdin", input="short\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    bad_name = run("add", "o lga", "--role", "officer", "--password-stdin", input="a long password\n")
    assert bad_name.exit_code == 2 and "NAME" in bad_name.output
    assert rows(ctx) == {}
    assert run("add", "olga", "--role", "officer", "--password-stdin", input="a long password\n").exit_code == 0
    again = run("add", "OLGA", "--role", "viewer", "--password-stdin", input="a long password\n")
    assert again.exit_code != 0 and "exists already" in again.output
    assert rows(ctx)["olga"].role == "officer"
    for command in (("disable", "nobody"), ("passwd", "nobody", "--password-stdin")):
        missing = run(*command, input="a long password\n")
        assert missing.exit_code == 2 and "no board user 'nobody'" in missing.output
