"""One scheduler leader among `responder serve` workers on one PostgreSQL database, and failover: the leader is killed
with SIGKILL in the middle of an escalation (a copy of the plan with steps seconds apart); the standby takes the lease
within ttl + renew interval, and every remaining step runs exactly once: none twice, none lost."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from process_support import fast_escalation
from scaleout_support import REASON, Deployment, duplicates, outbox_rows, query, unsent, wait_for

from responder.app.alerts import raise_alert
from responder.app.contacts import import_contacts
from responder.app.setup import init_database
from responder.testing import TwilioStubServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LEASE_TTL = 2.0
RENEW = max(0.5, LEASE_TTL / 6)
"""What `serve --lease-ttl` renews at."""
STEPS = [
    {"after": "2s", "action": "resend_sms"},
    {"after": "3s", "action": "voice_call"},
    {"after": "6s", "action": "notify_group_deputy"},
]
"""The leader is killed right after the first; the second falls due while nobody leads, the third after the
failover."""


def test_one_leader_and_failover_during_an_escalation_runs_every_step_once(
        deployment: Deployment, stub: TwilioStubServer) -> None:
    fast_escalation(deployment.plan, 1, STEPS)
    deployment.settings.update(RESPONDER_CLAIM_TIMEOUT_SECONDS="2", RESPONDER_SCHEDULER_SWEEP_SECONDS="0.5",
                               RESPONDER_DISPATCHER_POLL_SECONDS="0.2")
    ctx = deployment.context()
    init_database(ctx)
    import_contacts(ctx, deployment.roster)

    # Both start at once: exactly one takes the lease, the other says why it stands by.
    workers = [deployment.serve(name, "--lease-ttl", str(LEASE_TTL)) for name in ("a", "b")]
    for worker in workers:
        worker.wait_listening()
    roles = wait_for(lambda: (r := sorted(w.role() for w in workers)) == ["leader", "standby"] and r, 10,
                     "one leader and one standby")
    assert roles == ["leader", "standby"]
    leader = next(w for w in workers if w.role() == "leader")
    standby = next(w for w in workers if w is not leader)
    reason = standby.health()["scheduler"]
    assert reason["running"] is False and reason["holder"] == leader.name
    assert f"another worker ({leader.name}) runs the scheduler" in reason["message"], reason["message"]
    assert leader.health()["scheduler"]["running"] is True
    for _ in range(5):  # and it stays that way while the lease is renewed
        time.sleep(RENEW / 2)
        assert sorted(w.role() for w in workers) == ["leader", "standby"]

    raised = raise_alert(ctx, "flood", 1, REASON, "duty officer")
    t0 = time.monotonic()
    steps = {row.step_index: row.id for row in query(
        ctx, "SELECT id, step_index FROM escalation_steps WHERE incident_id = :i", i=raised.incident_id)}
    assert sorted(steps) == [0, 1, 2]

    def step_status(index: int) -> str:
        return str(query(ctx, "SELECT status FROM escalation_steps WHERE id = :s", s=steps[index])[0][0])

    wait_for(lambda: step_status(0) == "done", 10, "the first step (resend) on the leader", every=0.05)
    leader.kill()
    killed_at, killed_wall = time.monotonic(), datetime.now(UTC)
    [old_lease] = query(ctx, "SELECT holder, expires_at FROM leases WHERE name = 'scheduler'")
    assert old_lease.holder == leader.name
    assert step_status(1) == "pending" and step_status(2) == "pending", "killed in the middle of the escalation"

    def standby_leads() -> bool:
        scheduler = standby.health()["scheduler"]
        return scheduler["role"] == "leader" and scheduler["running"] is True

    wait_for(standby_leads, LEASE_TTL + RENEW + 5, "the standby to take over", every=0.05)
    running = time.monotonic() - killed_at
    [lease] = query(ctx, "SELECT holder, acquired_at FROM leases WHERE name = 'scheduler'")
    taken = (lease.acquired_at - killed_wall).total_seconds()
    gap = (lease.acquired_at - old_lease.expires_at).total_seconds()
    assert lease.holder == standby.name
    # Never two leaders: the standby took the lease only once the dead leader's had run out (at most a ttl after
    # its last renewal, so at most a ttl after the kill), and within one renew interval of that (plus the time one
    # renewal transaction takes on a busy machine). The scheduler runs a moment later (APScheduler starts and
    # loads the job store).
    assert (old_lease.expires_at - killed_wall).total_seconds() <= LEASE_TTL
    assert 0 <= gap <= RENEW + 0.3, f"the lease was taken {gap:.2f} s after it expired"
    assert taken <= LEASE_TTL + RENEW + 0.3, f"the lease was taken {taken:.2f} s after the kill"
    assert running <= LEASE_TTL + RENEW + 1.5, f"the scheduler ran again {running:.2f} s after the kill"

    wait_for(lambda: all(step_status(i) != "pending" for i in steps), 15, "the remaining steps", every=0.1)
    wait_for(lambda: unsent(ctx) == 0, 15, "the outbox to drain", every=0.1)
    finished = time.monotonic() - t0

    # Every step ran exactly once: one 'done' row and one audit event each, none skipped or cancelled.
    rows = query(ctx, "SELECT id, status, done_at, due_at FROM escalation_steps WHERE incident_id = :i",
                 i=raised.incident_id)
    assert {r.status for r in rows} == {"done"}
    events = Counter(e.evidence["step_id"] for e in query(
        ctx, "SELECT evidence FROM audit_events WHERE incident_id = :i AND kind LIKE 'escalation%'",
        i=raised.incident_id))
    assert events == Counter({s: 1 for s in steps.values()}), "each step ran once"
    late = {r.id: r.done_at - r.due_at for r in rows}
    assert late[steps[1]] < timedelta(seconds=LEASE_TTL + RENEW + 1), "the overdue step ran at the takeover"
    assert late[steps[2]] < timedelta(seconds=1), "the step due after the failover ran on time"
    # ... and after the kill, by the new leader: its log names the steps it ran.
    assert set(standby.escalation_steps_logged()) >= {steps[1], steps[2]}
    assert steps[0] not in standby.escalation_steps_logged()

    # Each step's messages were queued once (dedupe keys) and reached the stub once.
    final = outbox_rows(ctx, raised.incident_id)
    keys = [r.dedupe_key for r in final if r.dedupe_key]
    assert len(keys) == len(set(keys)) and keys
    assert {r.status for r in final} == {"sent"}
    by_kind = Counter(r.kind for r in final)
    callouts = by_kind["callout"]
    assert by_kind["resend"] == callouts and by_kind["voice"] == callouts, by_kind
    assert by_kind["escalate_group"] > 0
    sms_rows = Counter((r.to_number, r.body) for r in final if r.channel == "sms")
    assert Counter((m.to, m.body) for m in stub.messages) == sms_rows
    calls = Counter(c.to for c in stub.calls)
    assert len(calls) == callouts and set(calls.values()) == {1}, "one voice call per person, none twice"
    assert duplicates(stub.messages) == by_kind["resend"], "only the planned resends repeat a text"
    print(f"\nfailover: leader {leader.name} killed {killed_at - t0:.1f} s into the escalation; {standby.name} "
          f"took the lease {taken:.2f} s later and reported a running scheduler after {running:.2f} s "
          f"(ttl {LEASE_TTL:g} s + renew {RENEW:g} s = "
          f"{LEASE_TTL + RENEW:g} s bound); steps late by "
          f"{', '.join(f'{late[steps[i]].total_seconds():.1f} s' for i in sorted(steps))}; all 3 steps ran once, "
          f"{len(final)} messages and {len(calls)} calls, none twice; done {finished:.1f} s after the raise")
