"""A confirmation arriving on one worker while another runs the escalation: worker B holds the scheduler lease and
runs the steps (a copy of the plan with steps seconds apart); the person's reply "1" reaches worker A's
/twilio/inbound, signed as Twilio signs it. It lands while that person's resend is claimed by a dispatcher but not
yet handed to the gateway (the stub is slowed down so the resend wave takes a while). From then on the stub, the
ground truth, gets nothing for that person but the 'confirmed' reply and, at the end, the stand-down."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from process_support import FROM, fast_escalation
from scaleout_support import (
    REASON,
    Deployment,
    outbox_rows,
    query,
    unsent,
    wait_for,
)

from responder.app.alerts import end_alert, raise_alert
from responder.app.contacts import import_contacts
from responder.app.setup import init_database
from responder.testing import Respond, TwilioStubServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

STEPS = [
    {"after": "3s", "action": "resend_sms"},
    {"after": "4.5s", "action": "voice_call"},
    {"after": "5s", "action": "notify_group_deputy"},
]
STUB_DELAY = 0.05
"""Per request during the resend wave: one dispatcher claims the whole wave and sends it 4 at a time for ~1.3 s."""


def test_a_reply_on_one_worker_stops_everything_for_that_person_while_another_escalates(
        deployment: Deployment, stub: TwilioStubServer) -> None:
    fast_escalation(deployment.plan, 1, STEPS)
    deployment.settings.update(RESPONDER_SCHEDULER_SWEEP_SECONDS="0.5", RESPONDER_DISPATCHER_POLL_SECONDS="0.1",
                               RESPONDER_CLAIM_BATCH="500")
    ctx = deployment.context()
    init_database(ctx)
    import_contacts(ctx, deployment.roster)
    workers = [deployment.serve(name, "--lease-ttl", "5") for name in ("w1", "w2")]
    for worker in workers:
        worker.wait_listening()
    wait_for(lambda: sorted(w.role() for w in workers) == ["leader", "standby"], 10, "one leader")
    b = next(w for w in workers if w.role() == "leader")  # runs the escalation
    a = next(w for w in workers if w is not b)  # takes the reply

    raised = raise_alert(ctx, "flood", 1, REASON, "duty officer")
    wait_for(lambda: unsent(ctx) == 0, 10, "the call-out to go out")
    stub.script(*[Respond(delay=STUB_DELAY)] * 400)

    def resends() -> list[Any]:
        return [r for r in outbox_rows(ctx, raised.incident_id) if r.kind == "resend"]

    wave = wait_for(resends, 10, "the resend step (on b)", every=0.05)
    members = {r.person_id for r in query(ctx, "SELECT person_id FROM memberships WHERE role = 'member'")}
    names = dict(query(ctx, "SELECT person_id, name FROM recipients WHERE incident_id = :i", i=raised.incident_id))

    def candidate(row: Any) -> bool:  # a plain member, whose name is part of no one else's
        return row.person_id in members and sum(names[row.person_id] in n for n in names.values()) == 1

    target = max((r for r in wave if candidate(r)), key=lambda r: r.id)  # the last of the wave to be sent
    person, phone, name = target.person_id, target.to_number, names[target.person_id]

    def resend_in_hand() -> bool:
        return str(query(ctx, "SELECT status FROM outbox WHERE id = :i", i=target.id)[0][0]) == "sending"

    wait_for(resend_in_hand, 5, "the person's resend to be claimed", every=0.005)

    # A forged reply is refused and changes nothing; the signed one confirms.
    params = {"From": phone, "To": FROM, "Body": "1", "MessageSid": "SM" + "f" * 32, "AccountSid": stub.account_sid}
    forged = a.post_signed("/twilio/inbound", params, "not-the-token")
    assert forged.status_code == 403
    posted = time.monotonic()
    reply = a.post_signed("/twilio/inbound", params, stub.auth_token)
    confirmed = time.monotonic()
    assert reply.status_code == 200, reply.text
    [recipient] = query(ctx, "SELECT confirmed_at, confirmed_channel FROM recipients WHERE incident_id = :i "
                             "AND person_id = :p", i=raised.incident_id, p=person)
    assert recipient.confirmed_at is not None and recipient.confirmed_channel == "sms"

    steps = [r.id for r in query(ctx, "SELECT id FROM escalation_steps WHERE incident_id = :i ORDER BY step_index",
                                 i=raised.incident_id)]
    wait_for(lambda: not query(ctx, "SELECT id FROM escalation_steps WHERE incident_id = :i AND status = 'pending'",
                               i=raised.incident_id), 15, "the remaining steps", every=0.1)
    wait_for(lambda: unsent(ctx) == 0, 15, "the escalation's messages to go out", every=0.1)
    end_alert(ctx, raised.incident_id, "洪水退去", "duty officer")
    wait_for(lambda: unsent(ctx) == 0, 15, "the stand-down to go out", every=0.1)

    # b ran every step; a only took the reply.
    assert sorted(b.escalation_steps_logged()) == steps and a.escalation_steps_logged() == []
    assert "inbound SMS" in a.log and "inbound SMS" not in b.log

    rows = {r.id: r for r in outbox_rows(ctx, raised.incident_id)}
    assert rows[target.id].status == "cancelled", "the resend in hand was not sent after the confirmation"
    after = [m for m in stub.messages if m.to == phone and m.received_at > confirmed]
    kinds = Counter(next(r.kind for r in rows.values() if r.sid == m.sid) for m in after)
    assert kinds == Counter({"confirmed": 1, "standdown": 1}), kinds
    assert not [c for c in stub.calls if c.to == phone], "no voice call to someone who confirmed"
    chased = [r for r in rows.values() if r.kind == "escalate_group"]
    assert chased and all(name not in r.body for r in chased), "the group deputies are not asked to chase them"
    others = {r.person_id for r in rows.values() if r.kind == "voice"}
    assert person not in others and len(others) == len({r.person_id for r in wave}) - 1, "the others go on"
    in_flight_at_post = [m for m in stub.messages if m.to == phone and posted <= m.received_at <= confirmed]
    print(f"\nconfirmation on worker a while b escalated: the person's resend was claimed, not yet sent, when the "
          f"reply arrived; it was cancelled, not sent; after the confirmation they got "
          f"{dict(kinds)}, no call; {len(others)} others were called; {len(in_flight_at_post)} messages to them "
          f"arrived while the reply was being handled")

