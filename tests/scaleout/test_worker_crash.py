"""Three `responder serve` workers share the outbox of a 1,000-person call-out on PostgreSQL; one is killed with
SIGKILL in the middle of it and started again. The Twilio stub (the ground truth of what went out) must end with
exactly the messages the outbox holds, each once: the rows the dead worker had handed over but not marked are
reconciled from the stub's message listing after the claim timeout instead of being sent twice."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from scaleout_support import (
    REASON,
    Deployment,
    duplicates,
    outbox_rows,
    query,
    scalar,
    unsent,
    wait_for,
    write_roster,
)

from responder.app.alerts import raise_alert
from responder.testing import Respond, TwilioStubServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PEOPLE = 1_000
CLAIM_TIMEOUT = 2.0
STUB_DELAY = 0.01
"""Every request waits this long at the stub, so that each worker always has messages in flight."""


def test_kill_9_one_of_three_workers_mid_callout_loses_nothing_and_duplicates_nothing(
        deployment: Deployment, stub: TwilioStubServer) -> None:
    write_roster(deployment.roster, PEOPLE)
    deployment.settings.update(RESPONDER_CLAIM_TIMEOUT_SECONDS=str(CLAIM_TIMEOUT),
                               RESPONDER_DISPATCHER_POLL_SECONDS="0.2")
    deployment.cli("init", "--no-contacts")
    imported = deployment.cli("contacts", "import", str(deployment.roster))
    assert str(PEOPLE) in imported.stdout, imported.stdout
    stub.script(*[Respond(delay=STUB_DELAY)] * 5_000)
    workers = [deployment.serve(f"w{n}") for n in (1, 2, 3)]  # they boot while the alert is raised
    ctx = deployment.context()
    raised = raise_alert(ctx, "flood", 1, REASON, "duty officer")
    rows = outbox_rows(ctx, raised.incident_id)
    callouts = Counter(r.to_number for r in rows if r.kind == "callout")
    assert len(callouts) == PEOPLE and set(callouts.values()) == {1}, "one call-out per person in the roster"
    for worker in workers:
        worker.wait_listening()
    victim = workers[1]

    def victim_mid_send() -> bool:
        in_hand = scalar(ctx, "SELECT count(*) FROM outbox WHERE status = 'sending' AND claimed_by = 'w2'")
        return len(stub.messages) >= 300 and in_hand > 0

    wait_for(victim_mid_send, 20, "w2 to be in the middle of sending")
    victim.kill()
    killed_at = time.monotonic()
    in_hand = [(r.to_number, r.body) for r in outbox_rows(ctx) if r.status == "sending" and r.claimed_by == "w2"]
    accepted_before_kill = len(stub.messages)
    time.sleep(0.3)  # the stub finishes answering what the dead worker had sent it
    at_stub = Counter((m.to, m.body) for m in stub.messages)
    window = sum(1 for key in in_hand if at_stub[key])

    restarted = deployment.serve("w2")
    restarted.wait_listening()
    wait_for(lambda: unsent(ctx) == 0, 30, "the outbox to drain", every=0.1)
    drained_after = time.monotonic() - killed_at

    final = outbox_rows(ctx)
    assert {r.status for r in final} == {"sent"}, Counter(r.status for r in final)
    expected = Counter((r.to_number, r.body) for r in final)
    delivered = Counter((m.to, m.body) for m in stub.messages)
    assert delivered == expected, "the stub holds exactly the outbox's messages, each once"
    dup = duplicates(stub.messages)
    assert dup == 0
    per_person = Counter(m.to for m in stub.messages if m.body in {r.body for r in final if r.kind == "callout"})
    assert len(per_person) == PEOPLE and set(per_person.values()) == {1}, "every person got their call-out once"
    assert {r.sid for r in final} == {m.sid for m in stub.messages}, "every row holds the sid the stub gave it"

    reconciled = Counter(dict(query(ctx, "SELECT outcome, count(*) FROM send_attempts "
                                         "WHERE outcome LIKE 'reconciled%' GROUP BY outcome")))
    assert reconciled["reconciled-sent"] == window, "what the stub had was recorded as sent, not sent again"
    assert reconciled["reconciled-sent"] + reconciled["reconciled-unsent"] == len(in_hand)
    assert {r.claimed_by for r in final} >= {"w1", "w3"}, "the workers shared the call-out"
    assert all(w.alive for w in (workers[0], workers[2], restarted))
    print(f"\nkill -9 of 1 of 3 workers in a {len(final):,}-message call-out: {accepted_before_kill} accepted by the "
          f"stub at the kill; the dead worker held {len(in_hand)} rows 'sending', {window} of which the stub had "
          f"accepted (the in-flight window: without reconciliation they would have gone out twice); reconciled "
          f"{window} as sent, {len(in_hand) - window} sent again; duplicates at the stub: {dup}; drained "
          f"{drained_after:.1f} s after the kill (claim timeout {CLAIM_TIMEOUT:g} s)")

