"""End to end through the installed console script, configured the way a deployment is: a ``.env``
file in the working folder (and, in-process, ``RESPONDER_DATABASE_URL`` in the environment)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from foundation_support import Invoke, Workspace

RESPONDER = Path(sys.executable).with_name("responder")


@pytest.mark.slow
def test_quick_start_in_a_fresh_folder(workspace: Workspace) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESPONDER_")}
    (workspace.root / ".env").write_text("RESPONDER_DATABASE_URL=sqlite:///from-dotenv.db\n", encoding="utf-8")

    def responder(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(RESPONDER), *args], cwd=workspace.root, env=env, capture_output=True, text=True,
                              timeout=60, check=False)

    init = responder("init")
    assert init.returncode == 0, init.stderr
    assert "created database sqlite:///from-dotenv.db" in init.stdout
    assert "loaded 104 people from contacts/roster.csv" in init.stdout
    assert (workspace.root / "from-dotenv.db").exists() and not (workspace.root / "responder.db").exists()

    duty = responder("duty", "now", "--at", "2027-07-01 09:00", "--json")
    assert duty.returncode == 0, duty.stderr
    assert (json.loads(duty.stdout)["officer"]["name"], json.loads(duty.stdout)["deputy"]["name"]) == ("李乙", "李甲")


def test_database_url_from_the_environment(cli: Invoke, workspace: Workspace, db_url: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESPONDER_DATABASE_URL", db_url)
    plan = ["--plan", str(workspace.path("config/plan.yaml"))]
    assert "database: empty" in cli(*plan, "db", "current").output
    upgrade = cli(*plan, "db", "upgrade")
    assert upgrade.exit_code == 0 and "empty →" in upgrade.output
    current = cli(*plan, "db", "current").output
    head = current.rsplit("this version: ", 1)[1].strip()
    assert current.strip() == f"database: {head}; this version: {head}"
