"""The duty officer's everyday flow, one `responder` process per command as they are typed, in order: on SQLite and
PostgreSQL, through the console gateway and through the real twilio SDK against the local Twilio server.

In-process CLI tests share what a process keeps between commands (a parsed snapshot, a gateway's id counter); here
nothing is shared but the database and the folder, as at 3 a.m. From the second command on, console ids clashed
in the outbox and left messages 'sending'; `alert status` crashed in every fresh process. At the end nothing may be
left pending or sending, and every person has had exactly the messages the plan gives them, each sent once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from alerts_support import REPO, expected_people, raw_plan
from process_support import process_env
from sqlalchemy import select

from responder.storage.db import make_engine
from responder.storage.models import OutboxRow
from responder.testing import TwilioStubServer

RESPONDER = Path(sys.executable).with_name("responder")
REASON = "龙河水位超警戒线0.5米"


class Township:
    """A fresh folder with the sample plan and roster, where each command runs as a process of its own."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        for folder in ("config", "contacts"):
            shutil.copytree(REPO / folder, root / folder)

    def __call__(self, *args: str, expect: int = 0) -> str:
        done = subprocess.run([str(RESPONDER), *args], cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=120, check=False)
        output = done.stdout + done.stderr
        assert done.returncode == expect, f"responder {' '.join(args)} exited {done.returncode}:\n{output}"
        assert "Traceback" not in output, output
        return output


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'township' / 'responder.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=["console", "twilio"])
def gateway(request: pytest.FixtureRequest) -> Iterator[TwilioStubServer | None]:
    if request.param == "console":
        yield None
        return
    with TwilioStubServer() as server:
        yield server
    assert server.internal_errors == []


def township(tmp_path: Path, database: str, stub: TwilioStubServer | None) -> Township:
    root = tmp_path / "township"
    if stub is not None:
        env = process_env(database, root / "config" / "plan.yaml", root / "contacts" / "roster.csv", stub)
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RESPONDER_", "TWILIO_"))}
        env.update({"RESPONDER_DATABASE_URL": database, "RESPONDER_GATEWAY": "console"})
    env["COLUMNS"] = "200"
    return Township(root, env)


def first_step(level: int) -> str:
    policy = next(p for p in raw_plan()["escalation_policy"] if p["level"] == level)
    return str(policy["steps"][0]["action"])


def test_the_officers_flow_one_process_per_command(tmp_path: Path, database: str,
                                                   gateway: TwilioStubServer | None) -> None:
    run = township(tmp_path, database, gateway)
    at_3, at_2 = expected_people("flood", 3), expected_people("flood", 2)
    assert at_3 < at_2
    confirmed = sorted(at_3)[0]

    assert "loaded 104 people" in run("init")
    assert "plan check passed" in run("plan", "check")
    preview = run("alert", "raise", "--level", "3", "--hazard", "flood", "--reason", REASON, expect=2)
    assert f"{len(at_3)} people in" in preview and "add --yes" in preview
    assert f"sent {len(at_3)}, failed 0" in run("alert", "raise", "--level", "3", "--hazard", "flood", "--reason",
                                              REASON, "--yes")
    status = run("alert", "status", "1")
    assert "(rescue)" in status and f"messages: sent {len(at_3)}" in status
    assert f"{confirmed} confirmed for incident #1" in run("alert", "ack", "1", "--person", confirmed, "--by", "O001")
    assert "failed 0" in run("alert", "upgrade", "1", "--level", "2", "--reason", REASON, "--yes")
    assert "failed 0" in run("alert", "downgrade", "1", "--level", "3", "--reason", REASON, "--yes")
    run("alert", "escalate", "1")
    run("dispatch", "--once")
    events = json.loads(run("alert", "timeline", "1", "--json"))
    assert [e["kind"] for e in events if e["kind"] in ("raised", "upgraded", "downgraded")] == [
        "raised", "upgraded", "downgraded"]
    assert "failed 0" in run("alert", "end", "1", "--yes")
    report = run("report", "1")
    assert (run.root / "reports-out" / "report-incident-1.html").exists(), report

    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(OutboxRow.person_id, OutboxRow.kind, OutboxRow.status, OutboxRow.sid,
                                       OutboxRow.to_number, OutboxRow.body).order_by(OutboxRow.id)).all()
    finally:
        engine.dispose()
    assert {r.status for r in rows} == {"sent"}, "nothing left pending or sending"
    kinds: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        kinds[row.person_id].append(row.kind)
    assert first_step(3) == "resend_sms"
    expected = {pid: ["callout", "upgrade", "downgrade", *(["resend"] if pid != confirmed else []), "standdown"]
                for pid in at_3}
    expected.update({pid: ["callout", "released", "standdown"] for pid in at_2 - at_3})
    assert dict(kinds) == expected
    sids = [r.sid for r in rows]
    assert None not in sids and len(set(sids)) == len(sids)
    if gateway is not None:
        received = {m.sid: (m.to, m.body) for m in gateway.messages}
        assert len(gateway.messages) == len(rows), "each message reached the provider once"
        assert {r.sid: (r.to_number, r.body) for r in rows} == received
