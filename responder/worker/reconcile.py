"""Crash recovery: rows a dead worker left 'sending' are sent again only if the gateway has no record of them."""

from __future__ import annotations

from datetime import datetime, timedelta

from responder.app.ports import Context
from responder.gateways.base import Gateway
from responder.storage import outbox
from responder.storage.outbox import Claimed

LOOK_BEFORE = timedelta(seconds=5)
"""The gateway's clock may run a little behind ours: ask for messages from a little before the row was queued."""


def reconcile_abandoned(ctx: Context, gateway: Gateway, worker_id: str,
                        claim_timeout: timedelta) -> tuple[int, list[tuple[Claimed, datetime]]]:
    """Take over the rows left 'sending' longer than ``claim_timeout`` and settle each with the gateway.

    An SMS the gateway lists to that number, with the same text, since the row was queued (and not already
    recorded for another row) was sent: it is marked so. Any other row goes back to 'pending' and is sent
    again: the gateway has no record of it, or cannot tell (calls; a provider without a message listing).
    Returns how many rows were taken over, and those found sent with when the gateway sent them.
    """
    now = ctx.clock.now()
    with ctx.engine.begin() as conn:
        stale = outbox.take_abandoned(conn, now - claim_timeout, now, worker_id)
    found: list[tuple[Claimed, datetime]] = []
    for row in stale:
        item = row.item
        records = gateway.sent_since(item.to, row.created_at - LOOK_BEFORE) if item.channel == "sms" else None
        with ctx.engine.begin() as conn:
            candidates = [r for r in records or [] if r.body == item.body]
            known = outbox.known_sids(conn, [r.sid for r in candidates])
            match = next((r for r in candidates if r.sid not in known), None)
            if match is not None:
                outbox.reconciled_sent(conn, item, match.sid, match.created_at)
                outbox.add_attempt(conn, item.id, now, worker_id, "reconciled-sent", None,
                                   f"the gateway had it as {match.sid}: not sent again")
            else:
                note = ("the gateway has no record: sending again" if records is not None
                        else "the gateway cannot tell: sending again (may duplicate)")
                outbox.send_again(conn, item.id)
                outbox.add_attempt(conn, item.id, now, worker_id, "reconciled-unsent", None, note)
        if match is not None:
            found.append((item, match.created_at))
    return len(stale), found
