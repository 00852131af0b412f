"""The outbox dispatcher: claims due messages, sends them, records every attempt.

Crash safety: a row is marked 'sending' (with who and when) before the gateway is called and
'sent' right after. A row found 'sending' past the claim timeout belonged to a worker that died
in between: we ask the gateway whether it went out before sending it again, so the only possible
duplicate is a message the gateway itself cannot account for. A live worker keeps the claims it holds fresh
(a batch may wait on the rate limit for longer than the claim timeout), and looks at each row once more just
before handing it over: a row another worker took over, or one whose person confirmed (or whose incident was
stood down) since it was queued, is not sent.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import ReturningUpdate

from responder.app.context import AppContext
from responder.gateways.base import (
    Accepted,
    Gateway,
    GatewayError,
    OutgoingCall,
    OutgoingSms,
    PermanentError,
)
from responder.storage.db import reading
from responder.storage.models import (
    DeliveryReceiptRow,
    IncidentRow,
    OutboxRow,
    RecipientRow,
    SendAttemptRow,
)
from responder.storage.types import UTCDateTime
from responder.worker.rate_limit import DatabaseLimiter, IntervalLimiter, RateLimiter, Unlimited

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    id: int
    to: str
    body: str
    channel: str
    sender: str
    attempts: int
    deadline_at: datetime
    incident_id: int | None
    person_id: str | None
    kind: str


def _claimed(row: Any) -> Claimed:
    return Claimed(row.id, row.to_number, row.body, row.channel, row.sender, row.attempts, row.deadline_at,
                   row.incident_id, row.person_id, row.kind)


_NOW = bindparam("now", type_=UTCDateTime())
_SEND_COLUMNS = (OutboxRow.id, OutboxRow.to_number, OutboxRow.body, OutboxRow.channel, OutboxRow.sender,
                 OutboxRow.attempts, OutboxRow.deadline_at, OutboxRow.incident_id, OutboxRow.person_id,
                 OutboxRow.kind)
# Built once: the dispatcher runs these for every batch, and building a statement costs more than running it.
_DUE = (select(OutboxRow.id).where(OutboxRow.status == "pending", OutboxRow.due_at <= _NOW)
        .order_by(OutboxRow.due_at, OutboxRow.id).limit(bindparam("limit")))
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True)


def _take(rows: ColumnElement[bool]) -> ReturningUpdate[*tuple[Any, ...]]:
    """Claim ``rows`` and return what sending them needs."""
    return (update(OutboxRow).where(rows)
            .values(status="sending", claimed_at=_NOW, claimed_by=bindparam("worker")).returning(*_SEND_COLUMNS))


_TAKE = _take(and_(OutboxRow.id.in_(bindparam("ids", expanding=True)), OutboxRow.status == "pending"))
"""PostgreSQL: the rows ``_DUE_SKIP_LOCKED`` picked (and locked), if still pending."""
_TAKE_DUE = _take(OutboxRow.id.in_(_DUE))
"""SQLite: pick and take in one statement, under the write lock: what the sub-select picks is pending when it is
taken. Naming the status again outside it would make SQLite walk every pending row through the status index
instead of looking up the picked ones by id: a claim would cost as much as the whole queue.
Not on PostgreSQL: there a LIMITed FOR UPDATE SKIP LOCKED sub-select inside an UPDATE is not run just once, and
the statement took every pending row."""
_ABANDONED = (update(OutboxRow).where(OutboxRow.status == "sending",
                                      OutboxRow.claimed_at < bindparam("before", type_=UTCDateTime()))
              .values(claimed_at=_NOW, claimed_by=bindparam("worker"))
              .returning(*_SEND_COLUMNS, OutboxRow.created_at))
_LOOK_AGAIN = (select(OutboxRow.id, OutboxRow.status, OutboxRow.claimed_by, OutboxRow.kind, OutboxRow.created_at,
                      RecipientRow.confirmed_at, IncidentRow.status.label("incident_status"), IncidentRow.ended_at)
               .outerjoin(RecipientRow, and_(RecipientRow.incident_id == OutboxRow.incident_id,
                                             RecipientRow.person_id == OutboxRow.person_id))
               .outerjoin(IncidentRow, IncidentRow.id == OutboxRow.incident_id)
               .where(OutboxRow.id.in_(bindparam("ids", expanding=True))))
_outbox = OutboxRow.__table__
_attempts = SendAttemptRow.__table__
assert isinstance(_outbox, Table) and isinstance(_attempts, Table)
_MARK_SENT = (update(_outbox).where(_outbox.c.id == bindparam("oid"), _outbox.c.status == "sending",
                                    _outbox.c.claimed_by == bindparam("worker"))
              .values(status="sent", attempts=bindparam("new_attempts"), sid=bindparam("new_sid"),
                      sent_at=bindparam("new_sent_at", type_=UTCDateTime())))
_ATTEMPT = insert(_attempts)
_EARLY = select(DeliveryReceiptRow.sid).where(DeliveryReceiptRow.sid.in_(bindparam("sids", expanding=True)),
                                              DeliveryReceiptRow.applied.is_(False))


@dataclass
class DispatchStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    reconciled: int = 0
    first_handed_at: float | None = None
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        return self.sent + self.retried + self.failed


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 10000}"


def limiter_for(ctx: AppContext) -> RateLimiter:
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
        ctx: AppContext,
        gateway: Gateway,
        limiter: RateLimiter | None = None,
        worker_id: str | None = None,
        concurrency: int = 4,
        rng: random.Random | None = None,
        voice_twiml: Callable[[int, str, str], str] | None = None,
        record_every: int = 1,
    ) -> None:
        self.ctx = ctx
        self.gateway = gateway
        self.limiter = limiter if limiter is not None else limiter_for(ctx)
        self.worker_id = worker_id or ctx.settings.worker_id or default_worker_id()
        self.concurrency = max(1, concurrency)
        self.rng = rng or random.Random()
        self.voice_twiml = voice_twiml
        self.record_every = max(1, record_every)
        """Sends recorded per transaction. More than one only for a simulated gateway (drills), and then a whole
        batch is claimed, sent and recorded in one transaction (``_send_batch_at_once``): its rows are looked at
        once before the first send, so the pace of a rate limit would let them go stale."""
        if self.record_every > 1 and not isinstance(self.limiter, Unlimited):
            raise ValueError("record_every > 1 needs an unlimited send rate")
        self.stats = DispatchStats()
        self._stats_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._held: set[int] = set()
        """Rows this dispatcher claimed and has not finished: their claims are kept fresh while it works."""
        self._held_lock = threading.Lock()
        self._refreshed = time.monotonic()
        self._reconciled_at: datetime | None = None
        self._reconcile_every = timedelta(seconds=ctx.settings.claim_timeout_seconds / 4)
        self._unreported: bool | None = None
        """Whether the last short batch sent at once saw failures left to summarise, asked in its own transaction;
        None: not asked (``_failures_to_report`` asks on a connection of its own)."""
        self.on_sent: Callable[[list[Claimed], datetime], None] | None = None
        """Told, once its transaction has committed, of each group of rows this dispatcher recorded as sent and
        when: a drill's simulated people react to what reached them without querying the outbox for it."""

    # -- claiming -------------------------------------------------------------------------------------------
    def claim(self, limit: int | None = None) -> list[Claimed]:
        """Take up to ``limit`` due rows: FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock on SQLite.

        The dispatcher works on Connections, not Sessions: it loads no ORM objects, and a Session's bookkeeping
        would cost more than the statements of a small batch (a drill sends thousands of them)."""
        with self.ctx.engine.begin() as conn:
            claimed = self._take(conn, limit or self.ctx.settings.claim_batch)
        if not claimed:
            return []
        with self._held_lock:
            if not self._held:
                self._refreshed = time.monotonic()
            self._held.update(c.id for c in claimed)
        return claimed

    def _take(self, conn: Connection, limit: int) -> list[Claimed]:
        """The claiming statements, in the caller's transaction; the rows in id order."""
        now = self.ctx.clock.now()
        if conn.dialect.name == "postgresql":
            ids = list(conn.scalars(_DUE_SKIP_LOCKED, {"now": now, "limit": limit}))
            rows = conn.execute(_TAKE, {"ids": ids, "now": now, "worker": self.worker_id}).all() if ids else []
        else:
            rows = conn.execute(_TAKE_DUE, {"now": now, "limit": limit, "worker": self.worker_id}).all()
        return sorted((_claimed(row) for row in rows), key=lambda c: c.id)

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
            conn.execute(update(OutboxRow).where(OutboxRow.id.in_(held), OutboxRow.status == "sending",
                                                 OutboxRow.claimed_by == self.worker_id)
                         .values(claimed_at=self.ctx.clock.now()))

    def _release(self, outbox_id: int) -> None:
        with self._held_lock:
            self._held.discard(outbox_id)

    def _still_wanted(self, conn: Connection, items: list[Claimed]) -> list[Claimed]:
        """Look at the rows once more just before the gateway: still ours, and still wanted?

        Not if another worker took one over (this one stalled past the claim timeout), nor if the person
        confirmed after it was queued (a reminder, or a call-out still waiting on the rate limit), nor if the
        incident was stood down after it was queued: a confirmation or a stand-down only cancels rows still
        'pending', and these were already claimed.
        """
        from responder.app.escalation import REMINDER_KINDS

        rows = {row.id: row for row in conn.execute(_LOOK_AGAIN, {"ids": [item.id for item in items]})}
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
            changed = conn.execute(
                update(OutboxRow).where(OutboxRow.id == item.id, OutboxRow.status == "sending",
                                        OutboxRow.claimed_by == self.worker_id)
                .values(status="cancelled", final_at=now, error_message=why)
            ).rowcount
            if changed:
                self._attempt(conn, item.id, now, "cancelled", None, why)
            self._release(item.id)
            self._count("cancelled")
        return wanted

    # -- sending --------------------------------------------------------------------------------------------
    def send(self, item: Claimed) -> str:
        return self.send_group([item])[0]

    def send_group(self, items: list[Claimed]) -> list[str]:
        """Hand ``items`` to the gateway, then record what happened to all of them in one transaction.

        A real gateway gets groups of one (``send``): a crash then leaves at most the message in hand
        unrecorded, and reconciliation asks the gateway about it.
        """
        for item in items:
            self.limiter.acquire(item.sender)
        self._keep_claims()
        with self.ctx.engine.begin() as conn:
            wanted = self._still_wanted(conn, items)
        results = [(item, self._hand_over(item)) for item in wanted]
        now = self.ctx.clock.now()
        outcomes: dict[int, str] = {}
        marked: list[Claimed] = []
        if results:
            with self.ctx.engine.begin() as conn:
                outcomes, marked = self._record_results(conn, results, now)
        return self._settle(items, results, outcomes, marked, now)

    def _send_batch_at_once(self) -> int:
        """Claim a batch, look at it again, send it and record it, all in one transaction rather than three.

        Only for a simulated gateway (``record_every`` > 1): it cannot fail between a send and its record, and its
        sends take no time, so holding the transaction (on SQLite, the write lock) across them costs nothing.
        """
        from responder.app.failures import any_unreported

        limit = self.ctx.settings.claim_batch
        with self.ctx.engine.begin() as conn:
            batch = self._take(conn, limit)
            if batch:
                wanted = self._still_wanted(conn, batch)
                results = [(item, self._hand_over(item)) for item in wanted]
                now = self.ctx.clock.now()
                outcomes, marked = self._record_results(conn, results, now)
            # A short batch ends ``drain`` unless failures are left to summarise: asked in this transaction, which
            # has just recorded this batch's, rather than in one more of its own.
            self._unreported = any_unreported(conn) if len(batch) < limit else None
        if batch:
            self._settle(batch, results, outcomes, marked, now)
        return len(batch)

    def _record_results(self, conn: Connection, results: list[tuple[Claimed, Accepted | GatewayError]],
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

    def _settle(self, items: list[Claimed], results: list[tuple[Claimed, Accepted | GatewayError]],
                outcomes: dict[int, str], marked: list[Claimed], now: datetime) -> list[str]:
        """Once the record is committed: tell ``on_sent``, let go of the rows, count what became of them."""
        if marked and self.on_sent is not None:
            self.on_sent(marked, now)
        for item, _ in results:
            self._release(item.id)
            self._count(outcomes[item.id])
        return [outcomes.get(item.id, "skipped") for item in items]

    def _hand_over(self, item: Claimed) -> Accepted | GatewayError:
        sender = None if item.sender == "default" else item.sender
        try:
            if item.channel == "voice":
                twiml = self.voice_twiml(item.id, item.body, item.to) if self.voice_twiml else item.body
                accepted = self.gateway.place_call(OutgoingCall(item.to, twiml, sender, reference=str(item.id)))
            else:
                accepted = self.gateway.send_sms(OutgoingSms(item.to, item.body, sender, reference=str(item.id)))
        except GatewayError as exc:  # an unclassified vendor error is treated as retryable, but recorded
            return exc
        with self._stats_lock:
            if self.stats.first_handed_at is None:
                self.stats.first_handed_at = time.perf_counter()
        return accepted

    def _record(self, conn: Connection, item: Claimed, result: GatewayError) -> str:
        if isinstance(result, PermanentError):
            return self._finish(conn, item, "failed", error=result)
        return self._retry_or_fail(conn, item, result)

    def _record_sent(self, conn: Connection, sent: list[tuple[Claimed, Accepted]], now: datetime) -> list[Claimed]:
        """Mark the accepted rows sent, in a few statements however many there are; the ones this worker marked."""
        if not sent:
            return []
        params = [{"oid": item.id, "worker": self.worker_id, "new_attempts": item.attempts + 1,
                   "new_sid": accepted.sid, "new_sent_at": now} for item, accepted in sent]
        clashes: dict[int, str] = {}
        try:
            with conn.begin_nested():
                marked = conn.execute(_MARK_SENT, params)
            ours = {item.id for item, _ in sent}
            if marked.rowcount != len(sent) or not conn.dialect.supports_sane_multi_rowcount:
                sids = dict(conn.execute(select(OutboxRow.id, OutboxRow.sid).where(OutboxRow.id.in_(ours))).all())
                ours = {item.id for item, accepted in sent if sids.get(item.id) == accepted.sid}
        except IntegrityError:
            ours, clashes = self._mark_sent_one_by_one(conn, params)
        conn.execute(_ATTEMPT, [
            {"outbox_id": item.id, "at": now, "worker": self.worker_id, "outcome": "sent", "error_code": None,
             "detail": clashes.get(item.id, accepted.status)} for item, accepted in sent])
        early = set(conn.scalars(_EARLY, {"sids": [accepted.sid for _, accepted in sent]}))
        for item, accepted in sent:
            if item.id not in ours:
                log.warning("outbox %s was reclaimed by another worker while %s sent it", item.id, self.worker_id)
            elif accepted.sid in early and item.id not in clashes:
                from responder.app.confirm import apply_early_receipts

                apply_early_receipts(conn, item.id, accepted.sid, now)
        return [item for item, _ in sent if item.id in ours]

    def _mark_sent_one_by_one(self, conn: Connection, params: list[dict[str, Any]]) -> tuple[set[int], dict[int, str]]:
        """A provider id already in the outbox: the gateway accepted the message all the same, so it is sent.

        Such a row is marked sent without the id (the outbox keeps provider ids unique, so that a delivery receipt
        names one message): receipts for that id stay with the row that had it first, and the attempt says so. A
        row left 'sending' instead would be sent again by reconciliation. Returns the rows marked and the clashes.
        """
        ours: set[int] = set()
        clashes: dict[int, str] = {}
        for row in params:
            try:
                with conn.begin_nested():
                    changed = conn.execute(_MARK_SENT, row).rowcount
            except IntegrityError:
                holder = conn.scalar(select(OutboxRow.id).where(OutboxRow.sid == row["new_sid"]))
                log.error("outbox %s: the gateway gave provider id %s, already outbox %s's; recorded sent without it",
                          row["oid"], row["new_sid"], holder)
                clashes[row["oid"]] = (f"sent; provider id {row['new_sid']} already belongs to outbox {holder}, "
                                       "so it is not stored here (receipts for it stay with that row)")
                changed = conn.execute(_MARK_SENT, {**row, "new_sid": None}).rowcount
            if changed:
                ours.add(row["oid"])
        return ours, clashes

    def _retry_or_fail(self, conn: Connection, item: Claimed, exc: GatewayError) -> str:
        now = self.ctx.clock.now()
        attempt = item.attempts + 1
        s = self.ctx.settings
        delay = min(s.retry_max_seconds, s.retry_base_seconds * 2 ** (attempt - 1)) * (0.5 + self.rng.random())
        due = now + timedelta(seconds=delay)
        if due >= item.deadline_at:
            return self._finish(conn, item, "failed", error=exc, note="deadline passed")
        changed = conn.execute(
            update(OutboxRow).where(OutboxRow.id == item.id, OutboxRow.status == "sending",
                                    OutboxRow.claimed_by == self.worker_id)
            .values(status="pending", due_at=due, attempts=attempt, error_code=exc.code,
                    error_message=str(exc)[:500], claimed_at=None, claimed_by=None)
        ).rowcount
        self._attempt(conn, item.id, now, "retry", exc.code, f"{exc}; next try at {due.isoformat()}")
        return "retried" if changed else "lost-claim"

    def _finish(self, conn: Connection, item: Claimed, status: str, error: GatewayError,
                note: str | None = None) -> str:
        """A row that will not be sent: recorded with the gateway's reason."""
        now = self.ctx.clock.now()
        changed = conn.execute(
            update(OutboxRow).where(OutboxRow.id == item.id, OutboxRow.status == "sending",
                                    OutboxRow.claimed_by == self.worker_id)
            .values(status=status, attempts=item.attempts + 1, error_code=error.code, final_at=now,
                    error_message=(f"{note}: " if note else "") + str(error)[:500])
        ).rowcount
        self._attempt(conn, item.id, now, status, error.code, f"{note}: {error}" if note else str(error))
        if not changed:
            log.warning("outbox %s was reclaimed by another worker while %s sent it", item.id, self.worker_id)
        return status

    def _attempt(self, conn: Connection, outbox_id: int, at: datetime, outcome: str, code: str | None,
                 detail: str | None) -> None:
        conn.execute(_ATTEMPT, {"outbox_id": outbox_id, "at": at, "worker": self.worker_id, "outcome": outcome,
                                "error_code": code, "detail": detail})

    def _count(self, outcome: str) -> None:
        with self._stats_lock:
            self.stats.outcomes[outcome] = self.stats.outcomes.get(outcome, 0) + 1
            if outcome == "sent":
                self.stats.sent += 1
            elif outcome == "retried":
                self.stats.retried += 1
            elif outcome == "failed":
                self.stats.failed += 1

    # -- crash recovery -------------------------------------------------------------------------------------
    def reconcile(self, claim_timeout: timedelta | None = None) -> int:
        """Rows stuck in 'sending' past the claim timeout: ask the gateway before sending them again."""
        now = self.ctx.clock.now()
        timeout = claim_timeout or timedelta(seconds=self.ctx.settings.claim_timeout_seconds)
        with self.ctx.engine.begin() as conn:
            stale = conn.execute(_ABANDONED, {"before": now - timeout, "now": now, "worker": self.worker_id}).all()
        for row in stale:
            item = _claimed(row)
            since = row.created_at - timedelta(seconds=5)
            records = self.gateway.sent_since(item.to, since) if item.channel == "sms" else None
            with self.ctx.engine.begin() as conn:
                candidates = [r for r in records or [] if r.body == item.body]
                known = set(conn.scalars(select(OutboxRow.sid).where(
                    OutboxRow.sid.in_([r.sid for r in candidates])))) if candidates else set()
                match = next((r for r in candidates if r.sid not in known), None)
                if match is not None:
                    conn.execute(update(OutboxRow).where(OutboxRow.id == item.id)
                                 .values(status="sent", sid=match.sid, sent_at=match.created_at,
                                         attempts=item.attempts + 1))
                    self._attempt(conn, item.id, now, "reconciled-sent", None,
                                  f"the gateway had it as {match.sid}: not sent again")
                else:
                    note = ("the gateway has no record: sending again" if records is not None
                            else "the gateway cannot tell: sending again (may duplicate)")
                    conn.execute(update(OutboxRow).where(OutboxRow.id == item.id)
                                 .values(status="pending", claimed_at=None, claimed_by=None))
                    self._attempt(conn, item.id, now, "reconciled-unsent", None, note)
            if match is not None and self.on_sent is not None:
                self.on_sent([item], match.created_at)
            self.stats.reconciled += 1
        return len(stale)

    # -- loops ----------------------------------------------------------------------------------------------
    def run_once(self) -> int:
        """One pass: reconcile, claim a batch, send it (``concurrency`` messages at a time). Returns rows handled."""
        now = self.ctx.clock.now()
        if self._reconciled_at is None or now - self._reconciled_at >= self._reconcile_every:
            # A row only counts as abandoned a claim timeout after it was claimed: looking every quarter of
            # that is soon enough, and spares a write transaction on every pass.
            self._reconciled_at = now
            self.reconcile()
        if self.record_every > 1:
            return self._send_batch_at_once()
        batch = self.claim()
        if not batch:
            return 0
        # One at a time (a batch of several is _send_batch_at_once's): a crash leaves at most the messages in
        # hand unrecorded.
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
        from responder.app.failures import report_failures

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
        """After a short pass: are permanent failures left to summarise? A batch sent at once has asked already."""
        from responder.app.failures import any_unreported

        seen, self._unreported = self._unreported, None
        if seen is not None:
            return seen
        with reading(self.ctx.engine) as conn:
            return any_unreported(conn)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def pending_count(ctx: AppContext, incident_id: int | None = None) -> int:
    from sqlalchemy import func

    with ctx.sessions() as session:
        query = select(func.count()).select_from(OutboxRow).where(OutboxRow.status.in_(("pending", "sending")))
        if incident_id is not None:
            query = query.where(OutboxRow.incident_id == incident_id)
        return session.scalar(query) or 0
