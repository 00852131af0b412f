"""Drills: a scenario through the real use cases on a virtual clock, in a database of its own.

Readings go through the feed cycle, levels through proposals or the duty officer's scripted
actions, messages through the outbox and the fake gateway, replies back through the same inbound
path as real SMS, and escalation steps fire at their simulated times.
"""

from __future__ import annotations

import bisect
import functools
import gc
import heapq
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from responder.app import alerts, confirm, escalation, proposals
from responder.app.context import AppContext
from responder.domain.clock import FakeClock
from responder.domain.drills import Action, Behaviour, Scenario, behaviour_for, sample_series
from responder.domain.readings import Rejected, Series, epoch_seconds, validate_series
from responder.domain.roster import Roster
from responder.gateways.base import PermanentError
from responder.gateways.fake import FakeGateway
from responder.storage.db import reading
from responder.storage.models import EscalationStepRow, IncidentRow, OutboxRow, RecipientRow
from responder.worker.dispatcher import Claimed, Dispatcher

REPLY_KINDS = ("callout", "resend", "upgrade", "evacuation")
ACK_KINDS = ("inform_chain", "escalate_chain", "escalate_group")
REPLY_EVENTS = ("sms", "keypress")
UNREACHABLE_CODE = "30003"
"""Twilio's 'unreachable destination handset', as the fake gateway reports it for unreachable people."""


# Built once: the loop asks these thousands of times.
_NEXT_DUE = select(
    select(func.min(EscalationStepRow.due_at)).where(EscalationStepRow.status == "pending").scalar_subquery(),
    select(func.min(OutboxRow.due_at)).where(OutboxRow.status == "pending").scalar_subquery())
_CODES = select(IncidentRow.id, IncidentRow.code)
_OPEN_COUNT = select(func.count()).select_from(IncidentRow).where(IncidentRow.status == "open")


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
    def __init__(self, ctx: AppContext, scenario: Scenario, start: datetime,
                 on_progress: Callable[[DrillProgress], None] | None = None,
                 feed_cycle: Callable[[AppContext, list[Series], list[Rejected]], int] | None = None) -> None:
        if not isinstance(ctx.clock, FakeClock):
            raise TypeError("a drill runs on a FakeClock")
        self.ctx = ctx
        self.clock: FakeClock = ctx.clock
        self.scenario = scenario
        self.start = start
        self.end = start + scenario.duration
        self.rng = random.Random(scenario.seed)
        self.gateway = FakeGateway(clock=self.clock)
        # The fake gateway cannot crash between a send and its record: one transaction per claimed batch.
        self.dispatcher = Dispatcher(ctx, self.gateway, concurrency=1, rng=self.rng,
                                     record_every=ctx.settings.claim_batch)
        self.on_progress = on_progress
        self.feed_cycle = feed_cycle
        self._heap: list[_Event] = []
        self._seq = itertools.count()
        self._decided: dict[tuple[str, int], tuple[bool, timedelta]] = {}
        self._scheduled_reply: set[tuple[str, int]] = set()
        self.result = DrillResult([], 0, 0, 0, 0, 0, start, self.end)
        self.roster: Roster = Roster(())
        self._confirm_pending = False
        self._last_progress = 0.0
        self._due_messages = True
        self._series: list[Series] = []
        self._clocks: list[list[int]] = []
        """The distinct lists of reading times: gauges that report on the same ticks share one."""
        self._clock_of: list[int] = []
        """Per series, the index of its times in ``_clocks``."""
        self._cursor: list[int] = []
        """Per clock, how many of its times have been handed over."""
        self._rejected: list[Rejected] = []

    # -- set-up ---------------------------------------------------------------------------------------------
    def _push(self, at: datetime, kind: str, payload: Any = None) -> None:
        heapq.heappush(self._heap, _Event(at, next(self._seq), kind, payload))

    def _prepare(self) -> None:
        from responder.storage.people import load_roster

        with self.ctx.sessions() as session:
            self.roster = load_roster(session)
        for person in self.roster.people:
            b = behaviour_for(self.scenario.people, person.id, person.groups)
            if b.unreachable:
                self.gateway.fail_numbers({person.phone: lambda: PermanentError(
                    "unreachable destination handset (drill)", code=UNREACHABLE_CODE)})
        self._generate()
        every = self.scenario.feed_check_every
        t = self.start
        while t <= self.end:
            self._push(t, "check")
            t += every
        for action in self.scenario.actions:
            self._push(self.start + action.at, "action", action)

    def _generate(self) -> None:
        """Every gauge's readings for the whole drill, checked once as a feed's would be.

        They are checked against the drill's end: a reading is only handed over at the first feed check
        at or after its time (``_due_readings``), so none arrives from the future.
        """
        stations = {s.id: s for s in self.ctx.plan.stations}
        rain: dict[str, dict[int, float]] = {}
        for series in sorted(self.scenario.series, key=lambda s: s.kind == "river"):  # rain before its rivers
            times, values = sample_series(series, self.start, self.end, rain)
            if series.kind != "river":
                rain.setdefault(series.station, {}).update(zip(times, values, strict=True))
            checked, rejected = validate_series("drill", series.station, times, values, stations, self.end,
                                                source="drill")
            self._rejected.extend(rejected)
            if checked is not None:
                self._series.append(checked)
        shared: dict[tuple[int, ...], int] = {}
        for gauge in self._series:
            clock = shared.setdefault(tuple(gauge.times), len(self._clocks))
            if clock == len(self._clocks):
                self._clocks.append(list(gauge.times))
            self._clock_of.append(clock)
        self._cursor = [0] * len(self._clocks)

    def _due_readings(self) -> tuple[list[Series], list[Rejected]]:
        """The readings taken since the last feed check (and, at the first, what the plan refused)."""
        upto = epoch_seconds(self.clock.now())
        cuts = []  # per clock: the new readings' positions and times, cut once for every gauge on that clock
        for i, times in enumerate(self._clocks):
            a = self._cursor[i]
            b = self._cursor[i] = bisect.bisect_right(times, upto, lo=a)
            cuts.append((a, b, times[a:b]))
        due = []
        for series, clock in zip(self._series, self._clock_of, strict=True):
            a, b, times = cuts[clock]
            if b > a:
                due.append(Series(series.station, series.quantity, series.unit, series.source, times,
                                  series.values[a:b]))
        rejected, self._rejected = self._rejected, []
        return due, rejected

    # -- the loop -------------------------------------------------------------------------------------------
    def run(self) -> DrillResult:
        self._prepare()
        # What the drill set up (every gauge's readings, the roster, the plan) lives to the end: frozen, the
        # garbage collector stops walking it again at every collection of the objects the loop makes.
        gc.freeze()
        try:
            return self._run()
        finally:
            gc.unfreeze()

    def _run(self) -> DrillResult:
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
        with self.ctx.sessions() as session:
            self.result.incidents = list(session.scalars(select(IncidentRow.id).order_by(IncidentRow.id)))
            self.result.messages = session.scalar(select(func.count()).select_from(OutboxRow).where(
                OutboxRow.status.in_(("sent", "delivered")))) or 0
            self.result.confirmations = session.scalar(select(func.count()).select_from(RecipientRow).where(
                RecipientRow.confirmed_at.is_not(None))) or 0
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
            step, due = conn.execute(_NEXT_DUE).one()
        candidates += [d for d in (step, due) if d is not None]
        nxt = min(candidates) if candidates else None
        self._due_messages = due is not None and nxt is not None and due <= nxt
        return nxt, step

    def _handle(self, event: _Event) -> None:
        self.result.events += 1
        if event.kind == "check":
            if self.feed_cycle is not None:
                self.result.readings += self.feed_cycle(self.ctx, *self._due_readings())
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

    def _officer_will_confirm(self) -> None:
        """Pending proposals: the duty officer confirms them ``confirms_proposals_after`` from now."""
        after = self.scenario.duty_officer.confirms_proposals_after
        if after is not None and not self._confirm_pending and proposals.pending_proposals(self.ctx):
            self._confirm_pending = True
            self._push(self.clock.now() + after, "confirm_proposals")

    def _officer(self, action: Action) -> str:
        if action.by:
            person = self.roster.get(action.by)
            return f"{person.name} ({person.id})" if person else action.by
        officer = alerts.duty_officer(self.ctx, self.roster, self.ctx.plan)
        return f"{officer.name} ({officer.id})" if officer else "duty officer"

    def _open(self, hazard: str) -> IncidentRow | None:
        with self.ctx.sessions() as session:
            return session.scalar(select(IncidentRow).where(IncidentRow.hazard == hazard,
                                                            IncidentRow.status == "open").limit(1))

    def _act(self, action: Action) -> None:
        from responder.domain.errors import ResponderError

        by = self._officer(action)
        current = self._open(action.hazard)
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
        officer = alerts.duty_officer(self.ctx, self.roster, self.ctx.plan)
        by = f"{officer.name} ({officer.id})" if officer else "duty officer"
        for p in proposals.pending_proposals(self.ctx):
            proposals.decide(self.ctx, p.id, by, confirm=True)

    # -- people ---------------------------------------------------------------------------------------------
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
                return dict(conn.execute(_CODES).all()), conn.scalar(_OPEN_COUNT) or 0

        for item, at in sent:
            if item.incident_id is not None and item.person_id is not None:
                self._react(item, at, incidents)

    def _behaviour(self, person_id: str) -> Behaviour:
        person = self.roster.get(person_id)
        return behaviour_for(self.scenario.people, person_id, person.groups if person else ())

    def _decide(self, person_id: str, incident_id: int) -> tuple[bool, timedelta]:
        """Once per person and incident: will they ever answer, and after how long."""
        key = (person_id, incident_id)
        if key not in self._decided:
            b = self._behaviour(person_id)
            never = self.rng.random() < (b.never_reply or 0.0)
            delay = b.reply_after.sample(self.rng.random(), self.rng.gauss(0, 1)) if b.reply_after else \
                timedelta(minutes=3)
            self._decided[key] = (not never, delay)
        return self._decided[key]

    def _react(self, item: Claimed, sent: datetime, incidents: Callable[[], tuple[dict[int, str], int]]) -> None:
        """``incidents``: the incidents' codes and how many are open, asked only when a reply quotes them."""
        assert item.person_id is not None and item.incident_id is not None
        key = (item.person_id, item.incident_id)
        b = self._behaviour(item.person_id)
        answers, delay = self._decide(*key)
        if not answers or b.unreachable:
            return
        if item.channel == "voice":
            if b.voice_only and key not in self._scheduled_reply:
                self._scheduled_reply.add(key)
                self._push(sent + timedelta(seconds=40), "keypress", item.id)
            return
        if b.voice_only:
            return
        if item.kind in REPLY_KINDS and key not in self._scheduled_reply:
            self._scheduled_reply.add(key)
            codes, open_count = incidents()
            text = self._reply_text(codes.get(item.incident_id, ""), open_count)
        elif item.kind in ACK_KINDS:
            codes, _ = incidents()
            text = f"1 {codes.get(item.incident_id, '')}"
        else:
            return
        self._push(sent + delay, "sms", (item.to, text))

    def _reply_text(self, code: str, open_count: int) -> str:
        if open_count > 1:
            return f"1 {code}"
        return self.rng.choice(["1", f"1 {code}", "收到", "确认", "ok", "1"])

    def _progress(self) -> DrillProgress:
        with self.ctx.sessions() as session:
            levels = {h: lvl for h, lvl in session.execute(select(IncidentRow.hazard, IncidentRow.level).where(
                IncidentRow.status == "open"))}
            messages = session.scalar(select(func.count()).select_from(OutboxRow).where(
                OutboxRow.status.in_(("sent", "delivered")))) or 0
            confirmations = session.scalar(select(func.count()).select_from(RecipientRow).where(
                RecipientRow.confirmed_at.is_not(None))) or 0
        total = (self.end - self.start).total_seconds() or 1.0
        done = min(1.0, (self.clock.now() - self.start).total_seconds() / total)
        return DrillProgress(self.clock.now(), levels, messages, confirmations, done)


def drill_database(out_dir: Path, name: str) -> Path:
    """Each drill run gets its own SQLite file: drill records never mix with real incidents."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir / f"{name}.db"
