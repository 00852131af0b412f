"""A real crash: a dispatcher process sending through the real twilio SDK to the local Twilio server is killed with
SIGKILL mid-send; a fresh dispatcher reconciles with the server's records (the ground truth) and finishes the job.
Nothing is lost and, because the server can list what it accepted, nothing is sent twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alerts_support import PLAN, REASON, ROSTER, outbox
from process_support import FROM

from responder.app.alerts import raise_alert
from responder.app.contacts import import_contacts
from responder.app.setup import init_database
from responder.gateways.twilio.gateway import TwilioGateway
from responder.settings import Settings
from responder.testing import Respond, TwilioStubServer
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher
from responder.worker.rate_limit import Unlimited

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("crash_dispatcher_worker.py")

SLOW = 0.25
"""Every send takes this long at the server, so that four are always in flight when the kill lands."""
CLAIM_TIMEOUT = 0.5
CONCURRENCY = 4
"""The worker's sending threads (crash_dispatcher_worker.py)."""


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.fixture
def live_ctx(tmp_path: Path) -> Iterator[AppContext]:
    """The sample plan and roster on a SQLite file, on the system clock (two processes share it)."""
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'crash.db'}",  # type: ignore[call-arg]
                        plan_file=PLAN, roster_file=ROSTER, gateway="fake", claim_timeout_seconds=CLAIM_TIMEOUT)
    ctx = AppContext(settings)
    init_database(ctx)
    import_contacts(ctx, ROSTER)
    yield ctx
    ctx.engine.dispose()


def test_killing_a_dispatcher_mid_send_loses_nothing_and_duplicates_nothing(
        live_ctx: AppContext, stub: TwilioStubServer, tmp_path: Path) -> None:
    raised = raise_alert(live_ctx, "flood", 2, REASON, "tester")
    rows = outbox(live_ctx, raised.incident_id)
    assert len(rows) == 63
    stub.script(*[Respond(delay=SLOW)] * 200)

    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), live_ctx.settings.database_url, str(PLAN), str(ROSTER), stub.url,
         stub.account_sid, stub.auth_token, FROM, "doomed-worker"],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_for(lambda: (len(stub.messages) >= 8 and stub.in_flight > 0) or worker.poll() is not None, 20,
                 "the worker to be mid-send")
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        os.kill(worker.pid, signal.SIGKILL)
        in_flight_at_kill = stub.in_flight
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
        log.close()
    assert worker.returncode == -signal.SIGKILL

    # The server finishes what it was answering when the client died: those messages did go out.
    wait_for(lambda: stub.in_flight == 0, 5, "the server to finish the requests of the dead worker")
    stub.clear_rules()
    at_kill = Counter(r.status for r in outbox(live_ctx, raised.incident_id))
    sending = [r for r in outbox(live_ctx, raised.incident_id) if r.status == "sending"]
    accepted = Counter((m.to, m.body) for m in stub.messages)
    window = [r for r in sending if (r.to_number, r.body) in accepted]
    assert at_kill["sent"] >= 4 and len(sending) > 0 and at_kill["sending"] + at_kill["sent"] + at_kill[
        "pending"] == 63
    # Each of the worker's four sending threads holds at most one message that went out but is not marked yet.
    assert 1 <= len(window) <= CONCURRENCY, "the kill landed between send and mark"

    # A fresh dispatcher once the dead worker's claims are older than the claim timeout.
    claimed_at = max(r.claimed_at for r in sending if r.claimed_at is not None)
    time.sleep(max(0.0, CLAIM_TIMEOUT + 0.05 - (datetime.now(UTC) - claimed_at).total_seconds()))
    with TwilioGateway(stub.account_sid, stub.auth_token, from_number=FROM, api_base_url=stub.url,
                       timeout=5) as gateway:
        stats = Dispatcher(live_ctx, gateway, limiter=Unlimited(), worker_id="fresh-worker").drain()

    final = outbox(live_ctx, raised.incident_id)
    assert {r.status for r in final} == {"sent"}, "nothing lost"
    per_recipient = Counter(m.to for m in stub.messages)
    duplicates = sum(n - 1 for n in per_recipient.values())
    assert len(per_recipient) == 63 and duplicates == 0, f"{duplicates} duplicates"
    assert {r.sid for r in final} == {m.sid for m in stub.messages}, "each row holds the sid the server gave it"
    assert stats.reconciled == len(sending)
    assert stats.sent == 63 - at_kill["sent"] - len(window)
    print(f"\ncrash test: killed with {in_flight_at_kill} requests in flight at the server; rows at the kill: "
          f"{dict(at_kill)}; {len(window)} of the {len(sending)} 'sending' rows had been accepted by the server "
          f"(the in-flight window: without reconciliation they would have gone out twice); reconciled "
          f"{stats.reconciled}: {len(window)} marked sent from the server's records, {len(sending) - len(window)} "
          f"sent again; duplicates at the server: {duplicates}")
