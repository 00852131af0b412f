"""The drill's event loop: feed checks, the duty officer's scripted actions and people's answers, in simulated time.

Readings go through the feed cycle, levels through proposals or the duty officer's actions, messages through the
outbox and the fake gateway, replies back through the same inbound path as real SMS, and escalation steps fire at
their simulated times.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from responder.app import alerts, confirm, escalation, proposals
from responder.app.duty import duty_officer
from responder.app.ports import Context
from responder.domain.clock import FakeClock
from responder.domain.drills import Action, Scenario
from responder.domain.readings import Rejected, Series
from responder.domain.roster import Roster
from responder.drills.gauges import Gauges
from responder.drills.people import SimulatedPeople
from responder.gateways.base import PermanentError
from responder.gateways.fake import FakeGateway
from responder.storage import progress
from responder.storage.db import reading
from responder.worker.dispatcher import Claimed, Dispatcher

REPLY_EVENTS = ("sms", "keypress")
UNREACHABLE_CODE = "30003"
"""Twilio's 'unreachable destination handset', as the fake gateway reports it for unreachable people."""

FeedCycle = Callable[[Context, list[Series], list[Rejected]], int]
"""Stores readings and evaluates the rules (``app.feed_cycle.ingest_and_evaluate``); returns readings stored."""


@dataclass
class DrillProgress:
    now: datetime
    levels: dict[str, int]
    messages: int
    confirmations: int
    done: float


@dataclass
class DrillResult:
    incidents: list[int]
    messages: int
    confirmations: int
    replies: int
    readings: int
    events: int
    started: datetime
    ended: datetime
    notes: list[str] = field(default_factory=list)
    other_messages: int = 0
    """Messages that belong to no incident (proposals to the duty officer), apart from ``messages``."""


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    payload: Any = field(compare=False, default=None)


class DrillRunner:
    def __init__(self, ctx: Context, scenario: Scenario, start: datetime,
                 on_progress: Callable[[DrillProgress], None] | None = None,
                 feed_cycle: FeedCycle | None = None) -> None:
        if not isinstance(ctx.clock, FakeClock):
            raise TypeError("a drill runs on a FakeClock")
        self.ctx = ctx
        self.clock: FakeClock = ctx.clock
        self.scenario = scenario
        self.start = start
        self.end = start + scenario.duration
        self.rng = random.Random(scenario.seed)
        # A simulated provider with a batch request: a claimed batch goes over in one hand-over, not one by one; and
        # in the process, so claimed, handed over and recorded in one transaction.
        self.gateway = FakeGateway(clock=self.clock, batch_limit=ctx.settings.claim_batch, in_process=True)
        self.dispatcher = Dispatcher(ctx, self.gateway, concurrency=1, rng=self.rng)
        self.on_progress = on_progress
        self.feed_cycle = feed_cycle
        self._heap: list[_Event] = []
        self._seq = itertools.count()
        self.result = DrillResult([], 0, 0, 0, 0, 0, start, self.end)
        self.roster = Roster(())
        self.people: SimulatedPeople | None = None
        self.gauges: Gauges | None = None
        self._confirm_pending = False
        self._last_progress = 0.0
        self._due_messages = True

    # -- set-up ---------------------------------------------------------------------------------------------
    def _push(self, at: datetime, kind: str, payload: Any = None) -> None:
        heapq.heappush(self._heap, _Event(at, next(self._seq), kind, payload))

    def _prepare(self) -> None:
        from responder.storage.people import load_roster

        with self.ctx.sessions() as session:
            self.roster = load_roster(session)
        self.people = SimulatedPeople(self.scenario.people, self.roster, self.rng, self._push,
                                      self.ctx.plan.messaging)
        self.gateway.fail_numbers({phone: lambda: PermanentError("unreachable destination handset (drill)",
                                                                 code=UNREACHABLE_CODE)
                                   for phone in self.people.unreachable()})
        self.gauges = Gauges(self.scenario, self.ctx.plan.stations, self.start, self.end)
        every = self.scenario.feed_check_every
        t = self.start
        while t <= self.end:
            self._push(t, "check")
            t += every
        for action in self.scenario.actions:
            self._push(self.start + action.at, "action", action)

    # -- the loop -------------------------------------------------------------------------------------------
    def run(self) -> DrillResult:
        self._prepare()
        self.clock.set(self.start)
        while True:
            t, next_step = self._next_time()
            if t is None or t > self.end:
                break
            self.clock.set(max(t, self.clock.now()))
            only_replies = True
            while self._heap and self._heap[0].at <= self.clock.now():
                event = heapq.heappop(self._heap)
                only_replies = only_replies and event.kind in REPLY_EVENTS
                self._handle(event)
            # Replies never plan escalation steps (level changes do): after them alone, the next step is still the
            # one _next_time saw, and if it is not due yet run_due would only find nothing.
            if not only_replies or (next_step is not None and next_step <= self.clock.now()):
                escalation.run_due(self.ctx, actor="drill scheduler")
            self._dispatch()
            self._report_progress()
        self.clock.set(self.end)
        self._dispatch()
        self.gauges = None  # every reading is stored by now: the generated series (tens of MB) go before the report
        with self.ctx.sessions() as session:
            self.result.incidents = progress.incident_ids(session)
            self.result.messages = progress.reached_count(session)
            self.result.confirmations = progress.confirmed_count(session)
        self._report_progress(force=True)
        return self.result

    def _report_progress(self, force: bool = False) -> None:
        """At most ten updates a second of wall time: the display must not slow the drill down."""
        if self.on_progress is None:
            return
        now = time.monotonic()
        if force or now - self._last_progress >= 0.1:
            self._last_progress = now
            self.on_progress(self._progress())

    def _next_time(self) -> tuple[datetime | None, datetime | None]:
        """When the loop next has something to do, and when the next escalation step falls due."""
        candidates = [self._heap[0].at] if self._heap else []
        with reading(self.ctx.engine) as conn:  # no Session: its set-up costs more than this query
            step, due = progress.next_due(conn)
        candidates += [d for d in (step, due) if d is not None]
        nxt = min(candidates) if candidates else None
        self._due_messages = due is not None and nxt is not None and due <= nxt
        return nxt, step

    def _handle(self, event: _Event) -> None:
        self.result.events += 1
        if event.kind == "check":
            if self.feed_cycle is not None and self.gauges is not None:
                self.result.readings += self.feed_cycle(self.ctx, *self.gauges.due(self.clock.now()))
            self._officer_will_confirm()
        elif event.kind == "action":
            self._act(event.payload)
            self._officer_will_confirm()  # a reported dam break proposes at once, not at the next check
        elif event.kind == "confirm_proposals":
            self._confirm_pending = False
            self._confirm_proposals()
        elif event.kind == "sms":
            person_phone, body = event.payload
            self.result.replies += 1
            confirm.handle_inbound(self.ctx, person_phone, "drill", body, f"SMdrill{self.result.replies:08d}")
            # Its answer (confirmed, or which incident?) is due now: sent on this turn of the loop rather than
            # on one more turn at the same time that would do nothing else.
            self._due_messages = True
        elif event.kind == "keypress":
            self.result.replies += 1
            confirm.handle_keypress(self.ctx, event.payload, "1")

    # -- the duty officer -----------------------------------------------------------------------------------
    def _officer_will_confirm(self) -> None:
        """Pending proposals: the duty officer confirms them ``confirms_proposals_after`` from now."""
        after = self.scenario.duty_officer.confirms_proposals_after
        if after is not None and not self._confirm_pending and proposals.pending_proposals(self.ctx):
            self._confirm_pending = True
            self._push(self.clock.now() + after, "confirm_proposals")

    def _officer(self, action: Action | None = None) -> str:
        """Who acts: the person the action names, else the duty officer on the rota now."""
        if action is not None and action.by:
            person = self.roster.get(action.by)
            return f"{person.name} ({person.id})" if person else action.by
        officer = duty_officer(self.ctx, self.roster, self.ctx.plan)
        return f"{officer.name} ({officer.id})" if officer else "duty officer"

    def _act(self, action: Action) -> None:
        from responder.domain.errors import ResponderError

        by = self._officer(action)
        with self.ctx.sessions() as session:
            current = progress.open_incident(session, action.hazard)
        try:
            if action.do == "raise" and current is None:
                assert action.level is not None
                alerts.raise_alert(self.ctx, action.hazard, action.level, action.reason, by)
            elif action.do in ("raise", "upgrade", "downgrade") and current is not None:
                assert action.level is not None
                if action.level != current.level:
                    alerts.change_level(self.ctx, current.id, action.level, action.reason, by)
            elif action.do == "end" and current is not None:
                alerts.end_alert(self.ctx, current.id, action.reason, by)
            elif action.do == "confirm_proposals":
                self._confirm_proposals()
            elif action.do == "report":
                from responder.app.feed_cycle import manual_report

                manual_report(self.ctx, action.report or "", action.station, action.value, by)
            else:
                self.result.notes.append(f"{self.clock.now().isoformat()}: {action.do} {action.hazard} skipped "
                                         "(nothing open to change)")
        except ResponderError as exc:
            self.result.notes.append(f"{self.clock.now().isoformat()}: {action.do} refused: {exc}")

    def _confirm_proposals(self) -> None:
        by = self._officer()
        for p in proposals.pending_proposals(self.ctx):
            proposals.decide(self.ctx, p.id, by, confirm=True)

    # -- messages and people --------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        """Send what is due, then play how each person reacts to what reached them, in outbox order.

        The dispatcher says what it sent (``on_sent``): reading it back from the outbox cost a scan per pass.
        """
        if not self._due_messages:
            return
        sent: list[tuple[Claimed, datetime]] = []
        self.dispatcher.on_sent = lambda items, at: sent.extend((item, at) for item in items)
        self.dispatcher.drain()
        sent.sort(key=lambda s: s[0].id)

        @functools.cache
        def incidents() -> tuple[dict[int, str], int]:
            """Codes and how many are open, for a reply's text: read once a pass, and only if someone replies."""
            with reading(self.ctx.engine) as conn:
                return progress.incident_codes(conn)

        if self.people is not None:
            for item, at in sent:
                self.people.react(item, at, incidents)

    def _progress(self) -> DrillProgress:
        with self.ctx.sessions() as session:
            levels = progress.open_levels(session)
            messages = progress.reached_count(session)
            confirmations = progress.confirmed_count(session)
        total = (self.end - self.start).total_seconds() or 1.0
        done = min(1.0, (self.clock.now() - self.start).total_seconds() / total)
        return DrillProgress(self.clock.now(), levels, messages, confirmations, done)
