"""One send rate for all workers: three `responder dispatch` processes share a 20 msg/s limit (one slot row per
sender in PostgreSQL). Measured where the messages arrive, the Twilio stub: no 1-second window holds more than the
limit (+1 for timing jitter), and together they still reach at least 85 % of it.

The claim timeout is set far shorter than a worker needs for its batch at this rate (50 rows at a third of 20/s
take 7.5 s): a live worker keeps its claims fresh, so no other worker takes them over and nothing goes out twice."""

from __future__ import annotations

import pytest
from scaleout_support import REASON, Deployment, duplicates, max_in_window, outbox_rows, unsent, wait_for

from responder.app.alerts import raise_alert
from responder.app.contacts import import_contacts
from responder.app.setup import init_database
from responder.testing import TwilioStubServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RATE = 20.0


def test_three_workers_together_keep_to_one_send_rate(deployment: Deployment, stub: TwilioStubServer) -> None:
    deployment.settings.update(RESPONDER_SEND_RATE_PER_SECOND=str(RATE), RESPONDER_CLAIM_TIMEOUT_SECONDS="2")
    ctx = deployment.context()
    init_database(ctx)
    import_contacts(ctx, deployment.roster)
    workers = [deployment.dispatch(f"d{n}", "--poll", "0.2") for n in (1, 2, 3)]
    for worker in workers:
        worker.wait_log("dispatching through the twilio gateway")

    raised = raise_alert(ctx, "flood", 1, REASON, "duty officer")
    assert raised.messages >= 100
    wait_for(lambda: unsent(ctx) == 0, 30, "the outbox to drain", every=0.1)

    rows = outbox_rows(ctx, raised.incident_id)
    assert {r.status for r in rows} == {"sent"}
    assert len({r.claimed_by for r in rows}) >= 2, "the workers shared the call-out"
    assert duplicates(stub.messages) == 0 and len(stub.messages) == len(rows)
    arrivals = sorted(m.received_at for m in stub.messages)
    busiest = max_in_window(arrivals)
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    assert busiest <= RATE + 1, f"{busiest} messages in one second"
    assert achieved >= 0.85 * RATE, f"{achieved:.1f}/s"
    print(f"\n3 workers, limit {RATE:g}/s, {len(arrivals)} messages: achieved {achieved:.2f}/s "
          f"({achieved / RATE:.2f} of the limit), at most {busiest} in any 1 s window; senders: "
          f"{sorted({r.claimed_by for r in rows})}; duplicates 0")
