"""The real `responder serve` process: a user made with the real CLI signs in over HTTP, behind a proxy on the same
machine the cookie is Secure and the client's address is the forwarded one, and /healthz and /metrics answer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from process_support import LISTENING, wait_for
from sqlalchemy import select

from responder.settings import Settings
from responder.storage.models import AuditEventRow
from responder.wiring import AppContext

REPO = Path(__file__).resolve().parents[2]
RESPONDER = Path(sys.executable).with_name("responder")
PASSWORD = "a long password for the board"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESPONDER_", "TWILIO_", "FORWARDED_"))}
    env.update({"RESPONDER_DATABASE_URL": f"sqlite:///{tmp_path / 'responder.db'}",
                "RESPONDER_PLAN_FILE": str(REPO / "config" / "plan.yaml"),
                "RESPONDER_ROSTER_FILE": str(REPO / "contacts" / "roster.csv"), "RESPONDER_GATEWAY": "console",
                "PYTHONUNBUFFERED": "1"})
    for args, stdin in ((["init"], None), (["users", "add", "olga", "--role", "officer", "--password-stdin"],
                                           PASSWORD + "\n")):
        done = subprocess.run([str(RESPONDER), *args], env=env, cwd=tmp_path, input=stdin, text=True,
                              capture_output=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(RESPONDER), "serve", "--host", "127.0.0.1", "--port", "0", "--lease-ttl", "5"],
                                env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        def listening() -> str | None:
            assert proc.poll() is None, log.read_text()
            found = LISTENING.search(log.read_text(errors="replace"))
            return f"http://{found[1]}:{found[2]}" if found else None

        yield wait_for(listening, 30, "serve to listen"), env
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.slow
def test_signing_in_to_the_real_serve(served: tuple[str, dict[str, str]]) -> None:
    base, env = served
    with httpx.Client(base_url=base, timeout=10) as browser:
        first = browser.get("/?lang=en")
        assert first.status_code == 303 and first.headers["location"] == "/login?next=%2F%3Flang%3Den"
        login = browser.get("/login")
        assert "secure" not in login.headers["set-cookie"].lower()  # plain HTTP, no proxy: not Secure
        token = _CSRF.search(login.text)
        assert token
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
        signed = browser.post("/login", data={"username": "olga", "password": PASSWORD, "next": "/healthz",
                                              "csrf_token": token[1]}, headers=forwarded)
        assert signed.status_code == 303 and signed.headers["location"] == "/healthz"
        assert "secure" in signed.headers["set-cookie"].lower()  # behind an HTTPS proxy on this machine
        assert wait_for(lambda: browser.get("/healthz").status_code == 200, 20, "a scheduler leader")
        metrics = httpx.get(base + "/metrics", timeout=10)  # no cookie: /metrics is outside the login
        assert metrics.status_code == 200 and "responder_database_up 1.0" in metrics.text
        assert "responder_scheduler_leader{holder=" in metrics.text
    ctx = AppContext(Settings(_env_file=None, database_url=env["RESPONDER_DATABASE_URL"]))
    try:
        with ctx.sessions() as session:
            [event] = session.scalars(select(AuditEventRow).where(AuditEventRow.kind == "sign_in")).all()
        assert event.actor == "olga" and event.evidence["client"] == "198.51.100.7"
    finally:
        ctx.engine.dispose()
