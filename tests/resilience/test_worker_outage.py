"""A `responder dispatch` worker on PostgreSQL loses its database mid-call-out (its backends terminated with
pg_terminate_backend, new connections refused for a while, as a server restart or a failover does): it logs the
outage once and the recovery once, carries on, and the call-out drains with nothing lost and nothing sent twice."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from process_support import process_env, wait_for
from resilience_support import RESPONDER, Folder

from responder.app.alerts import raise_alert
from responder.app.contacts import import_contacts
from responder.app.setup import init_database
from responder.settings import Settings
from responder.testing import Respond, TwilioStubServer
from responder.wiring import AppContext

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

OUTAGE_SECONDS = 2.0


def _pg(url: str) -> str:
    return url.replace("+psycopg", "")


def _outbox(url: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(_pg(url)) as conn:
        return [(str(s), str(t), str(b)) for s, t, b in conn.execute(
            "SELECT status, to_number, body FROM outbox ORDER BY id").fetchall()]


def _cut(url: str, allow: bool) -> int:
    """Refuse (or allow again) new connections to the database of ``url`` and terminate the ones it has (from the
    server's maintenance database: a connection to this one would be refused too)."""
    base, database = _pg(url).rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allow).lower()}')
        if allow:
            return 0
        cut = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
                            (database,)).fetchone()
        return int(cut[0]) if cut else 0


def _raise_in_process(env: dict[str, str]) -> None:
    """Set up the database and raise a level 1 flood alert (in this process: two CLI start-ups saved)."""
    settings = Settings(_env_file=None, **{k.removeprefix("RESPONDER_").lower(): v  # type: ignore[arg-type]
                                           for k, v in env.items() if k.startswith("RESPONDER_")})
    ctx = AppContext(settings)
    try:
        init_database(ctx)
        import_contacts(ctx, settings.roster_file)
        raise_alert(ctx, "flood", 1, "龙河决口", "duty officer")
    finally:
        ctx.engine.dispose()


def test_a_dispatch_worker_rides_out_terminated_backends_and_drains_once(
        pg_url: str, stub: TwilioStubServer, tmp_path: Path) -> None:
    folder = Folder.create(tmp_path)
    env = process_env(pg_url, folder.root / "config" / "plan.yaml", folder.root / "contacts" / "roster.csv", stub,
                      {"RESPONDER_CLAIM_TIMEOUT_SECONDS": "2", "RESPONDER_DATABASE_RETRY_MAX_SECONDS": "0.5",
                       "RESPONDER_SEND_CONCURRENCY": "4"})
    _raise_in_process(env)
    queued = len(_outbox(pg_url))
    assert queued > 100
    stub.script(*[Respond(delay=0.05)] * 1_000)  # ~1.5 s of sending: the cut lands in the middle of it
    log_path = tmp_path / "dispatch.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen([str(RESPONDER), "dispatch", "--poll", "0.2"], cwd=folder.root, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: len(stub.messages) >= 20 or worker.poll() is not None, 30, "the worker to be mid-send")
        assert worker.poll() is None, log_path.read_text()
        assert _cut(pg_url, allow=False) >= 1, "the worker's connections were terminated"
        time.sleep(OUTAGE_SECONDS)
        _cut(pg_url, allow=True)
        wait_for(lambda: worker.poll() is not None or Counter(s for s, _, _ in _outbox(pg_url))["sent"] == queued,
                 60, "the outbox to drain after the outage", every=0.2)
        assert worker.poll() is None, f"the worker exited:\n{log_path.read_text()}"
    finally:
        worker.terminate()
        worker.wait(20)
        _cut(pg_url, allow=True)
    log = log_path.read_text()
    assert "Traceback" not in log, log
    # One line when an outage starts, one when it ends (a thread holding a connection from before the cut may meet
    # it after another thread saw the recovery: a second, short outage, told the same way).
    outages, recoveries = log.count("is unreachable"), log.count("reachable again")
    assert 1 <= outages == recoveries <= 2, log
    rows = _outbox(pg_url)
    assert {s for s, _, _ in rows} == {"sent"}, Counter(s for s, _, _ in rows)
    delivered = Counter((m.to, m.body) for m in stub.messages)
    assert delivered == Counter((t, b) for _, t, b in rows), "each message went out once: none lost, none doubled"
