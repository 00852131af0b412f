"""Timers survive restarts, with real processes: `responder serve` on a SQLite file, sending through the real twilio
SDK to the TwilioStubServer. A copy of the plan has the orange level's escalation seconds apart. The serve process is
killed with SIGKILL after the first step; while it is down the next steps fall due; started again (once the dead
process's scheduler lease has expired) it runs each of them, once. A second `serve` on the same database meanwhile
runs no scheduler and says so on /health."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from escalation_process_support import Deployment
from escalation_support import REASON, audit, grouped, outbox_rows, recipients, steps_of
from process_support import wait_for
from sqlalchemy import select

from responder.app.contacts import import_contacts
from responder.app.setup import init_database
from responder.storage.models import LeaseRow
from responder.testing import TwilioStubServer
from responder.wiring import AppContext

pytestmark = pytest.mark.slow

LEASE_TTL = "2"
STEPS = [
    {"after": "2s", "action": "resend_sms"},
    {"after": "5s", "action": "voice_call"},
    {"after": "5.5s", "action": "notify_group_deputy"},
    {"after": "6s", "action": "notify_group_leader"},
]
"""Killed right after the first step; the other three fall due while nobody runs a scheduler."""


@pytest.fixture
def deployment(tmp_path: Path, stub: TwilioStubServer) -> Iterator[Deployment]:
    deployment = Deployment.create(tmp_path / "deployment", stub)
    try:
        yield deployment
    finally:
        deployment.close()


def setup(deployment: Deployment) -> AppContext:
    """The database created and the roster imported (what `responder init` does), in this process."""
    deployment.settings.update(RESPONDER_SCHEDULER_SWEEP_SECONDS="0.5", RESPONDER_DISPATCHER_POLL_SECONDS="0.2",
                               RESPONDER_CLAIM_TIMEOUT_SECONDS="2")
    ctx = deployment.context()
    init_database(ctx)
    import_contacts(ctx, deployment.roster)
    return ctx


def unsent(ctx: AppContext) -> int:
    return len([m for m in outbox_rows(ctx) if m.status in ("pending", "sending")])


def lease_holder(ctx: AppContext) -> str | None:
    with ctx.sessions() as session:
        row = session.scalar(select(LeaseRow).where(LeaseRow.name == "scheduler"))
    return row.holder if row else None


def test_kill_9_in_the_middle_of_an_escalation_then_restart_runs_every_step_once(
        deployment: Deployment, stub: TwilioStubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    deployment.fast_escalation(2, STEPS, confirm_within="2s")
    ctx = setup(deployment)

    first = deployment.serve("first", "--lease-ttl", LEASE_TTL)
    first.wait_listening()
    wait_for(lambda: first.health()["scheduler"]["role"] == "leader", 10, "first to lead")

    out = deployment.cli(monkeypatch, "alert", "raise", "--level", "2", "--hazard", "flood", "--reason", REASON,
                         "--by", "李乙", "--yes", "--no-send")
    assert re.search(r"incident #1 \(code \w+\) raised: level 2, 63 recipients", out), out
    incident = 1
    raised_at = steps_of(ctx, incident)[0].due_at - timedelta(seconds=2)

    # The first step runs and its messages go out; then the process dies, before the second falls due.
    wait_for(lambda: steps_of(ctx, incident)[0].status == "done", 15, "the resend step")
    wait_for(lambda: unsent(ctx) == 0, 10, "the call-out and the resend to be sent")
    first.kill9()
    killed_at = datetime.now(UTC)
    assert killed_at < raised_at + timedelta(seconds=5), "too slow: the second step fell due before the kill"
    assert [s.status for s in steps_of(ctx, incident)] == ["done", "pending", "pending", "pending"]
    assert lease_holder(ctx) == "first", "a killed process does not release its lease"

    # Down while the other steps fall due: nothing happens.
    time.sleep(max(0.0, (raised_at + timedelta(seconds=6.5) - datetime.now(UTC)).total_seconds()))
    assert [s.status for s in steps_of(ctx, incident)] == ["done", "pending", "pending", "pending"]
    sent_before_restart = len(stub.messages) + len(stub.calls)

    restarted_at = datetime.now(UTC)
    restarted = deployment.serve("restarted", "--lease-ttl", LEASE_TTL)
    restarted.wait_listening()
    wait_for(lambda: lease_holder(ctx) == "restarted", 10, "the restarted process to take the expired lease")
    second = deployment.serve("second", "--lease-ttl", LEASE_TTL)  # checked below; started now to save time
    wait_for(lambda: {s.status for s in steps_of(ctx, incident)} == {"done"}, 20, "every step to be done")
    wait_for(lambda: unsent(ctx) == 0, 15, "everything to be sent")
    assert restarted.health()["scheduler"]["role"] == "leader"

    # Each step ran once; the three that fell due while it was down ran after the restart, by the new process.
    steps = steps_of(ctx, incident)
    assert [s.action for s in steps] == [s["action"] for s in STEPS]
    assert steps[0].done_at is not None and steps[0].done_at < killed_at
    for step in steps[1:]:
        assert step.done_at is not None and step.done_at >= restarted_at, step.action
        assert step.done_at > step.due_at
    events = Counter(e.evidence["step_id"] for e in audit(ctx, incident, "escalation", "escalation_skipped"))
    assert events == {s.id: 1 for s in steps}

    # What the stub (Twilio) received: exactly what the outbox says was sent, nothing twice.
    people = recipients(ctx, incident)
    called = {r.person_id: r.phone for rs in grouped(people).values() for r in rs}
    assert len(called) == 63
    rows = outbox_rows(ctx, incident)
    assert {m.status for m in rows} == {"sent"}
    by_sid = {m.sid: m for m in rows}
    assert len(by_sid) == len(rows)
    assert sorted(m.sid for m in stub.messages) == sorted(m.sid for m in rows if m.channel == "sms")
    assert sorted(c.sid for c in stub.calls) == sorted(m.sid for m in rows if m.channel == "voice")
    assert len(stub.messages) + len(stub.calls) > sent_before_restart

    def per_person(kind: str) -> Counter[str]:
        return Counter(by_sid[m.sid].person_id for m in stub.messages if by_sid[m.sid].kind == kind)

    assert per_person("callout") == {pid: 1 for pid in called}
    assert per_person("resend") == {pid: 1 for pid in called}, "one resend per unconfirmed person"
    calls = Counter(by_sid[c.sid].person_id for c in stub.calls)
    assert calls == {pid: 1 for pid in called}, "one call per unconfirmed person"
    assert all("<Gather" in (c.twiml or "") for c in stub.calls)
    reports = [(m.to, m.body) for m in stub.messages if by_sid[m.sid].kind == "escalate_group"]
    assert reports and len(reports) == len(set(reports)), "each group report once"
    assert {by_sid[m.sid].created_at for m in stub.messages if by_sid[m.sid].kind == "escalate_group"} == {
        steps[2].done_at, steps[3].done_at}

    # A second serve on the same database while this one runs: it does not run a scheduler, and says why.
    second.wait_listening()
    for _ in range(3):  # over several lease renewals
        health = second.health()
        scheduler = health["scheduler"]
        assert (scheduler["role"], scheduler["running"], scheduler["holder"]) == ("standby", False, "restarted")
        assert "another worker (restarted) runs the scheduler on this database" in scheduler["message"]
        assert "a second scheduler on one job store would run jobs twice" in scheduler["message"]
        assert health["status"] == "ok", health
        assert restarted.health()["scheduler"]["role"] == "leader"
        time.sleep(0.5)
    assert "scheduler lease taken by second" not in second.log
    assert lease_holder(ctx) == "restarted"


def test_sigterm_stops_serve_cleanly_and_releases_the_lease(deployment: Deployment) -> None:
    ctx = setup(deployment)
    serve = deployment.serve("only", "--lease-ttl", "30")
    serve.wait_listening()
    wait_for(lambda: lease_holder(ctx) == "only", 10, "the lease")
    code = serve.stop()
    assert "stopping: finishing the messages in hand, releasing the scheduler lease" in serve.log, serve.log
    assert lease_holder(ctx) is None, "released on a clean stop, not left to expire"
    assert code == 0, serve.log
