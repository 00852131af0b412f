"""Every command has help text and a line in the README; ``responder --help`` starts fast and light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import typer
from foundation_support import REPO, Invoke

from responder.cli.main import app

RESPONDER = Path(sys.executable).with_name("responder")
"""The console script installed next to this interpreter (the package has no ``__main__``)."""
HEAVY = ["sqlalchemy", "pydantic_settings", "twilio", "matplotlib", "uvicorn", "alembic", "starlette", "httpx"]
NOT_FOR_STATUS = ["twilio", "matplotlib", "lxml", "uvicorn", "alembic", "starlette", "httpx", "apscheduler", "numpy"]
STATUS_SKIPS = [
    "sqlalchemy.dialects.postgresql",  # JSONB is loaded by a PostgreSQL engine only (storage.types)
    "responder.storage.feed_models", "responder.storage.board_models",  # tables status does not read
    "responder.app.escalation", "responder.domain.incidents", "responder.domain.messages",  # writing call-outs
    "yaml", "responder.configfiles.plan_file",  # status shows the incident's own plan: no plan file is read
    "responder.cli.feeds_cmd", "responder.cli.drill_cmd", "responder.cli.plan_cmd",  # commands are built when named
]
"""Modules ``alert status`` started without, each once a measurable part of its start-up (issue 14, point 9): a
test of what is imported holds on a loaded machine, where a time limit would not."""


def leaf_commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """(path, command) for every runnable command, walking groups recursively.

    Groups are recognised by their ``commands`` (the root's are built on demand, a mapping rather than a dict): typer
    may vendor its own click, so no isinstance on the command.
    """
    subcommands = getattr(command, "commands", None)
    if isinstance(subcommands, Mapping):
        return [leaf for name, sub in sorted(subcommands.items()) if not getattr(sub, "hidden", False)
                for leaf in leaf_commands(sub, (*path, name))]
    return [(path, command)]


LEAVES = leaf_commands(typer.main.get_command(app))


def test_the_command_tree_is_walked() -> None:
    paths = {" ".join(path) for path, _ in LEAVES}
    assert {"init", "db upgrade", "db current", "plan check", "plan show", "contacts import", "contacts list",
            "duty now"} <= paths


@pytest.mark.parametrize("path", [path for path, _ in LEAVES], ids=[" ".join(path) for path, _ in LEAVES])
def test_every_command_has_help_and_is_in_the_readme(cli: Invoke, path: tuple[str, ...]) -> None:
    command = dict(LEAVES)[path]
    assert (command.help or command.short_help or "").strip(), f"responder {' '.join(path)} has no help text"
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")
    if f"responder {' '.join(path)}" not in (REPO / "README.md").read_text(encoding="utf-8"):
        pytest.fail(f"`responder {' '.join(path)}` is not documented in README.md (add it to the command table)")


def test_help_starts_fast() -> None:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        done = subprocess.run([str(RESPONDER), "--help"], capture_output=True, text=True, timeout=30, check=False)
        best = min(best, time.perf_counter() - start)
        assert done.returncode == 0, done.stderr
        assert "Usage: responder" in done.stdout
    assert best < 0.3, f"responder --help took {best:.3f} s at best"


def test_help_imports_nothing_heavy() -> None:
    script = (
        "import json, sys\n"
        "from responder.cli.main import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_alert_status_imports_nothing_it_does_not_need(sqlite_ctx: Any, tmp_path: Path) -> None:
    """The officer's main screen, in a process of its own: no vendor SDK, charting, XML, web server or Alembic (an
    upgrade's business alone: importing it to ask whether the schema is current cost a fifth of the start-up)."""
    from responder.app.alerts import raise_alert

    incident = raise_alert(sqlite_ctx, "flood", 3, "test", "tester").incident_id
    sqlite_url = sqlite_ctx.settings.database_url
    script = (
        "import json, sys\n"
        "from responder.cli.main import app\n"
        "try:\n"
        f"    app(['--db', {sqlite_url!r}, '--plan', {str(REPO / 'config' / 'plan.yaml')!r}, 'alert', 'status', "
        f"'{incident}'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({NOT_FOR_STATUS!r}))))\n"
        f"print(json.dumps(sorted(set(sys.modules) & set({STATUS_SKIPS!r}))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False,
                          cwd=tmp_path, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "(rescue)" in done.stdout
    assert json.loads(done.stdout.splitlines()[-2]) == []
    assert json.loads(done.stdout.splitlines()[-1]) == []
