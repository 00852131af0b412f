"""The outbox dispatcher: claims due messages, sends them, records every attempt.

Crash safety: a row is marked 'sending' (with who and when) before the gateway is called and
'sent' right after. A row found 'sending' past the claim timeout belonged to a worker that died
in between: we ask the gateway whether it went out before sending it again, so the only possible
duplicate is a message the gateway itself cannot account for. A live worker keeps the claims it holds fresh
(a batch may wait on the rate limit for longer than the claim timeout), and looks at each row once more just
before handing it over: a row another worker took over, or one whose person confirmed (or whose incident was
stood down) since it was queued, is not sent.

A gateway with a batch request (``batch_limit`` > 0) is handed a claimed batch's SMS at once; the steps are the
same (claim, look again, send, record), so are the guarantees: a crash leaves at most that batch unrecorded, and
reconciliation asks the gateway about each of its rows. A gateway that sends nothing out of the process
(``in_process``, a drill's) takes the same steps in one transaction: nothing is left 'sending' to reconcile.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row

# The use cases a send calls are loaded with the dispatcher, not on a first send: an import in the middle of a
# rate-limited stream holds that send back, and the next ones bunch up behind it.
from responder.app.confirm import apply_early_receipts
from responder.app.failures import report_failures
from responder.app.ports import Context
from responder.domain.escalation import REMINDER_KINDS
from responder.gateways.base import Accepted, Gateway, GatewayError, PermanentError
from responder.storage import outbox
from responder.storage.db import reading
from responder.storage.failure_reports import any_unreported
from responder.storage.outbox import Claimed
from responder.worker.dispatch_stats import DispatchStats
from responder.worker.handover import Outcome, hand_over
from responder.worker.outage import DatabaseWatch
from responder.worker.rate_limit import DatabaseLimiter, IntervalLimiter, RateLimiter, Unlimited
from responder.worker.reconcile import reconcile_abandoned

__all__ = ["Claimed", "DispatchStats", "Dispatcher", "default_worker_id", "limiter_for", "pending_count"]

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 10000}"


def limiter_for(ctx: Context) -> RateLimiter:
    rate = ctx.settings.send_rate_per_second
    if rate is None:
        rate = 1.0 if ctx.settings.gateway == "twilio" else 0.0
    if rate <= 0:
        return Unlimited()
    if ctx.engine.dialect.name == "postgresql":
        return DatabaseLimiter(ctx.engine, rate)  # several workers share one database, so one limit
    return IntervalLimiter(rate)


class Dispatcher:
    def __init__(
        self,
        ctx: Context,
        gateway: Gateway,
        limiter: RateLimiter | None = None,
        worker_id: str | None = None,
        concurrency: int = 4,
        rng: random.Random | None = None,
        watch: DatabaseWatch | None = None,
    ) -> None:
        self.ctx = ctx
        self.gateway = gateway
        self.limiter = limiter if limiter is not None else limiter_for(ctx)
        self.worker_id = worker_id or ctx.settings.worker_id or default_worker_id()
        self.concurrency = max(1, concurrency)
        self.rng = rng or random.Random()
        self.stats = DispatchStats()
        self.watch = watch or DatabaseWatch(ctx.engine.url.render_as_string(hide_password=True),
                                            ctx.settings.database_retry_max_seconds)
        """Rows in hand are looked at and recorded through the outage (the gateway's answer is not thrown away)."""
        self._stop: threading.Event | None = None
        self._stats_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._held: set[int] = set()
        """Rows this dispatcher claimed and has not finished: their claims are kept fresh while it works."""
        self._held_lock = threading.Lock()
        self._refreshed = time.monotonic()
        self._reconciled_at: datetime | None = None
        self._reconcile_every = timedelta(seconds=ctx.settings.claim_timeout_seconds / 4)
        self._unreported: bool | None = None
        """Whether the last short batch saw failures left to summarise, asked in its record's transaction; None: not
        asked (``_failures_to_report`` asks on a connection of its own)."""
        self.on_sent: Callable[[list[Claimed], datetime], None] | None = None
        """Told, once its transaction has committed, of each group of rows this dispatcher recorded as sent and
        when: a drill's simulated people react to what reached them without querying the outbox for it."""

    # -- claiming -------------------------------------------------------------------------------------------
    def claim(self, limit: int | None = None) -> list[Claimed]:
        """Take up to ``limit`` due rows: FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock on SQLite.

        The dispatcher works on Connections, not Sessions: it loads no ORM objects, and a Session's bookkeeping
        would cost more than the statements of a small batch (a drill sends thousands of them)."""
        with self.ctx.engine.begin() as conn:
            claimed = outbox.claim_due(conn, self.ctx.clock.now(), limit or self.ctx.settings.claim_batch,
                                       self.worker_id)
        self._hold(claimed)
        return claimed

    def _hold(self, claimed: list[Claimed]) -> None:
        if not claimed:
            return
        with self._held_lock:
            if not self._held:
                self._refreshed = time.monotonic()
            self._held.update(c.id for c in claimed)

    def _keep_claims(self) -> None:
        """Renew ``claimed_at`` of the rows still in hand, every quarter of the claim timeout.

        A claimed batch is sent one row at a time, at the rate limit's pace: without this, rows late in a
        long batch would look abandoned to the other workers' reconciliation, which would send them again.
        """
        interval = self.ctx.settings.claim_timeout_seconds / 4
        with self._held_lock:
            if time.monotonic() - self._refreshed < interval or not self._held:
                return
            self._refreshed = time.monotonic()
            held = sorted(self._held)
        with self.ctx.engine.begin() as conn:
            outbox.keep_claims(conn, held, self.worker_id, self.ctx.clock.now())

    def _release(self, outbox_id: int) -> None:
        with self._held_lock:
            self._held.discard(outbox_id)

    def _still_wanted(self, conn: Connection, items: list[Claimed],
                      rows: Mapping[int, Row[*tuple[Any, ...]]] | None = None) -> list[Claimed]:
        """Look at the rows once more just before the gateway: still ours, and still wanted?

        Not if another worker took one over (this one stalled past the claim timeout), nor if the person
        confirmed after it was queued (a reminder, or a call-out still waiting on the rate limit), nor if the
        incident was stood down after it was queued: a confirmation or a stand-down only cancels rows still
        'pending', and these were already claimed. ``rows``: what the claim read of them, in this transaction.
        """
        if rows is None:
            rows = outbox.look_again(conn, [item.id for item in items])
        wanted: list[Claimed] = []
        unwanted: list[tuple[Claimed, str]] = []
        for item in items:
            row = rows.get(item.id)
            if row is None or row.status != "sending" or row.claimed_by != self.worker_id:
                log.warning("outbox %s was taken over by another worker before %s sent it: not sending", item.id,
                            self.worker_id)
                self._release(item.id)
                self._count("lost-claim")
            # Reminders (resend, voice) are only queued for people who had not confirmed: one queued for someone
            # who has was written by an escalation step racing the confirmation. Other kinds count from when they
            # were queued.
            elif row.kind in REMINDER_KINDS and row.confirmed_at is not None and (
                    row.kind in ("resend", "voice") or row.confirmed_at >= row.created_at):
                unwanted.append((item, "the person confirmed before it went out"))
            elif row.incident_status == "ended" and row.ended_at is not None and row.created_at < row.ended_at:
                unwanted.append((item, "the incident was stood down before it went out"))
            else:
                wanted.append(item)
        now = self.ctx.clock.now()
        for item, why in unwanted:
            if outbox.cancel(conn, item.id, self.worker_id, now, why):
                outbox.add_attempt(conn, item.id, now, self.worker_id, "cancelled", None, why)
            self._release(item.id)
            self._count("cancelled")
        return wanted

    # -- sending --------------------------------------------------------------------------------------------
    def send(self, item: Claimed) -> str:
        return self.send_group([item])[0]

    def send_group(self, items: list[Claimed]) -> list[str]:
        """Hand claimed ``items`` to the gateway, then record what happened to all of them in one transaction.

        A gateway without a batch request gets groups of one (``send``): a crash then leaves at most the message in
        hand unrecorded, and reconciliation asks the gateway about it.
        """
        for item in items:
            self.limiter.acquire(item.sender)
        self._keep_claims()

        def look_again() -> list[Claimed]:
            with self.ctx.engine.begin() as conn:
                return self._still_wanted(conn, items)

        return self._send_and_record(items, self.watch.retry(look_again, "the look before sending", self._stop))

    def _send_batch(self) -> int:
        """For a gateway with a batch request: claim a batch, hand its SMS over together, record them together.

        With no rate limit to wait on, nothing happens between the claim and the send: the rows are looked at again
        in the claim's transaction rather than in one more of their own.
        """
        limit = self.ctx.settings.claim_batch
        if not isinstance(self.limiter, Unlimited):
            batch = self.claim(limit)
            if batch:
                self.send_group(batch)
            return len(batch)
        with self.ctx.engine.begin() as conn:
            batch, looked = outbox.claim_and_look(conn, self.ctx.clock.now(), limit, self.worker_id)
            if not batch:  # nothing due: ``drain`` stops unless failures are left to summarise, asked here
                self._unreported = any_unreported(conn)
                return 0
            wanted = self._still_wanted(conn, batch, looked)
        self._hold(batch)
        self._send_and_record(batch, wanted, short=len(batch) < limit)
        return len(batch)

    def _send_at_once(self) -> int:
        """For a gateway that sends nothing out of the process (``in_process``), with no rate limit to wait on: claim
        a batch, look at it again, hand it over and record what became of it, all in the claim's transaction.

        The same steps and statements as for any gateway, without the commits between them: with no provider to ask
        after a crash, a crash (or a lost database) rolls the claim back with the record, and the rows are due again.
        """
        limit = self.ctx.settings.claim_batch
        now = self.ctx.clock.now()
        with self.ctx.engine.begin() as conn:
            batch, looked = outbox.claim_and_look(conn, now, limit, self.worker_id)
            if not batch:  # nothing due: ``drain`` stops unless failures are left to summarise, asked here
                self._unreported = any_unreported(conn)
                return 0
            results = self._hand_over(self._still_wanted(conn, batch, looked))
            outcomes, marked = self._record_results(conn, results, now)
            self._unreported = any_unreported(conn) if len(batch) < limit else None
        self._settle(batch, results, outcomes, marked, now)
        return len(batch)

    def _send_and_record(self, items: list[Claimed], wanted: list[Claimed], short: bool = False) -> list[str]:
        """Hand ``wanted`` over and record the outcomes; ``short``: a batch that took all that was due, whose record
        also asks whether failures are left to summarise (``drain`` would ask next, in a transaction of its own)."""
        results = self._hand_over(wanted)
        now = self.ctx.clock.now()
        outcomes: dict[int, str] = {}
        marked: list[Claimed] = []
        if results or short:
            def record() -> tuple[dict[int, str], list[Claimed]]:
                with self.ctx.engine.begin() as conn:
                    recorded = self._record_results(conn, results, now)
                    self._unreported = any_unreported(conn) if short else None
                return recorded

            outcomes, marked = self.watch.retry(record, "recording what was sent", self._stop)
        return self._settle(items, results, outcomes, marked, now)

    def _hand_over(self, items: list[Claimed]) -> list[tuple[Claimed, Outcome]]:
        results = hand_over(self.gateway, items, self.ctx.settings.public_url)
        if self.stats.first_handed_at is None and any(isinstance(r, Accepted) for _, r in results):
            with self._stats_lock:
                if self.stats.first_handed_at is None:
                    self.stats.first_handed_at = time.perf_counter()
        return results

    def _record_results(self, conn: Connection, results: list[tuple[Claimed, Outcome]],
                        now: datetime) -> tuple[dict[int, str], list[Claimed]]:
        """Record what the gateway said of each row: their outcomes, and the rows this worker marked sent."""
        outcomes: dict[int, str] = {}
        sent: list[tuple[Claimed, Accepted]] = []
        for item, result in results:
            if isinstance(result, Accepted):
                sent.append((item, result))
                outcomes[item.id] = "sent"
            else:
                outcomes[item.id] = self._record(conn, item, result)
        return outcomes, self._record_sent(conn, sent, now)

    def _settle(self, items: list[Claimed], results: list[tuple[Claimed, Outcome]],
                outcomes: dict[int, str], marked: list[Claimed], now: datetime) -> list[str]:
        """Once the record is committed: tell ``on_sent``, let go of the rows, count what became of them."""
        if marked and self.on_sent is not None:
            self.on_sent(marked, now)
        for item, _ in results:
            self._release(item.id)
            self._count(outcomes[item.id])
        return [outcomes.get(item.id, "skipped") for item in items]

    def _record(self, conn: Connection, item: Claimed, result: GatewayError) -> str:
        if isinstance(result, PermanentError):
            return self._finish(conn, item, "failed", error=result)
        return self._retry_or_fail(conn, item, result)

    def _record_sent(self, conn: Connection, sent: list[tuple[Claimed, Accepted]], now: datetime) -> list[Claimed]:
        """Mark the accepted rows sent, in a few statements however many there are; the ones this worker marked.

        A provider id that another row already has is not stored on this one (receipts for it stay with the row
        that had it first), and its attempt says so: the gateway accepted the message, so it is sent all the same.
        """
        if not sent:
            return []
        ours, clashes = outbox.mark_sent(conn, [(item, accepted.sid) for item, accepted in sent], self.worker_id, now)
        details: dict[int, str] = {}
        for oid, holder in clashes.items():
            sid = next(accepted.sid for item, accepted in sent if item.id == oid)
            log.error("outbox %s: the gateway gave provider id %s, already outbox %s's; recorded sent without it",
                      oid, sid, holder)
            details[oid] = (f"sent; provider id {sid} already belongs to outbox {holder}, so it is not stored here "
                            "(receipts for it stay with that row)")
        outbox.add_sent_attempts(conn, [(item.id, details.get(item.id, accepted.status)) for item, accepted in sent],
                                 self.worker_id, now)
        early = outbox.early_receipts(conn, [accepted.sid for _, accepted in sent])
        for item, accepted in sent:
            if item.id not in ours:
                log.warning("outbox %s was reclaimed by another worker while %s sent it", item.id, self.worker_id)
            elif accepted.sid in early and item.id not in clashes:
                apply_early_receipts(conn, item.id, accepted.sid, now)
        return [item for item, _ in sent if item.id in ours]

    def _retry_or_fail(self, conn: Connection, item: Claimed, exc: GatewayError) -> str:
        now = self.ctx.clock.now()
        attempt = item.attempts + 1
        s = self.ctx.settings
        delay = min(s.retry_max_seconds, s.retry_base_seconds * 2 ** (attempt - 1)) * (0.5 + self.rng.random())
        due = now + timedelta(seconds=delay)
        if due >= item.deadline_at:
            return self._finish(conn, item, "failed", error=exc, note="deadline passed")
        changed = outbox.retry_later(conn, item, self.worker_id, due, exc.code, str(exc))
        outbox.add_attempt(conn, item.id, now, self.worker_id, "retry", exc.code,
                           f"{exc}; next try at {due.isoformat()}")
        return "retried" if changed else "lost-claim"

    def _finish(self, conn: Connection, item: Claimed, status: str, error: GatewayError,
                note: str | None = None) -> str:
        """A row that will not be sent: recorded with the gateway's reason."""
        now = self.ctx.clock.now()
        changed = outbox.finish(conn, item, self.worker_id, status, error.code,
                                (f"{note}: " if note else "") + str(error)[:500], now)
        outbox.add_attempt(conn, item.id, now, self.worker_id, status, error.code,
                           f"{note}: {error}" if note else str(error))
        if not changed:
            log.warning("outbox %s was reclaimed by another worker while %s sent it", item.id, self.worker_id)
        return status

    def _count(self, outcome: str) -> None:
        with self._stats_lock:
            self.stats.count(outcome)

    # -- crash recovery -------------------------------------------------------------------------------------
    def reconcile(self, claim_timeout: timedelta | None = None) -> int:
        """Rows stuck in 'sending' past the claim timeout: ask the gateway before sending them again."""
        timeout = claim_timeout or timedelta(seconds=self.ctx.settings.claim_timeout_seconds)
        stale, found = reconcile_abandoned(self.ctx, self.gateway, self.worker_id, timeout)
        if self.on_sent is not None:
            for item, sent_at in found:
                self.on_sent([item], sent_at)
        self.stats.reconciled += stale
        return stale

    # -- loops ----------------------------------------------------------------------------------------------
    def run_once(self) -> int:
        """One pass: reconcile, claim a batch, send it (``concurrency`` messages at a time, or the gateway's batch
        request). Returns rows handled."""
        now = self.ctx.clock.now()
        if self._reconciled_at is None or now - self._reconciled_at >= self._reconcile_every:
            # A row only counts as abandoned a claim timeout after it was claimed: looking every quarter of
            # that is soon enough, and spares a write transaction on every pass.
            self._reconciled_at = now
            self.reconcile()
        if self.gateway.in_process and isinstance(self.limiter, Unlimited):
            return self._send_at_once()
        if self.gateway.batch_limit > 0:
            return self._send_batch()
        batch = self.claim()
        if not batch:
            return 0
        # One at a time: a crash leaves at most the messages in hand unrecorded.
        if self.concurrency == 1 or len(batch) == 1:
            for item in batch:
                self.send(item)
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="dispatch")
            list(self._pool.map(self.send, batch))
        return len(batch)

    def drain(self, on_progress: Callable[[DispatchStats], None] | None = None,
              stop: threading.Event | None = None) -> DispatchStats:
        """Send until nothing is due now (retries scheduled for later are left for later)."""
        self._stop = stop
        try:
            while not (stop and stop.is_set()):
                handled = self.run_once()
                if on_progress:
                    on_progress(self.stats)
                if handled >= self.ctx.settings.claim_batch:
                    continue  # a full batch: more may be due
                # A short batch took everything due when it was claimed; rows queued since are the next pass's.
                if not self._failures_to_report() or report_failures(self.ctx) == 0:
                    break
        finally:
            self.close()
        return self.stats

    def _failures_to_report(self) -> bool:
        """After a short pass: are permanent failures left to summarise? A short batch's record has asked already."""
        seen, self._unreported = self._unreported, None
        if seen is not None:
            return seen
        with reading(self.ctx.engine) as conn:
            return any_unreported(conn)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def pending_count(ctx: Context, incident_id: int | None = None) -> int:
    """Messages of ``incident_id`` (or of all) not yet handed to the gateway."""
    with reading(ctx.engine) as conn:
        return outbox.pending_count(conn, incident_id)
