"""How the scenario's people answer what reaches them: a reply after a delay, a keypress, or silence."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from responder.domain.drills import Behaviour, People, behaviour_for
from responder.domain.roster import Roster
from responder.domain.routes import Messaging
from responder.worker.dispatcher import Claimed

REPLY_KINDS = ("callout", "resend", "upgrade", "evacuation")
"""Messages a person answers with a confirmation, once per incident."""
ACK_KINDS = ("inform_chain", "escalate_chain", "escalate_group")
"""Messages asking a head to acknowledge: answered each time."""
KEYPRESS_AFTER = timedelta(seconds=40)
DEFAULT_DELAY = timedelta(minutes=3)

Schedule = Callable[[datetime, str, Any], None]
"""Puts a person's answer on the drill's timeline: (when, "sms" or "keypress", what)."""
IncidentCodes = Callable[[], tuple[dict[int, str], int]]
"""The incidents' reply codes and how many are open, asked only when an answer quotes them."""


class SimulatedPeople:
    """The roster's people as the scenario says they behave, drawing on the drill's one random generator."""

    def __init__(self, people: People, roster: Roster, rng: random.Random, schedule: Schedule,
                 messaging: Messaging | None = None) -> None:
        self.people, self.roster, self.rng, self.schedule = people, roster, rng, schedule
        self.messaging = messaging
        """The plan's routes: someone whose route brings no SMS reply back answers the call instead."""
        self._decided: dict[tuple[str, int], tuple[bool, timedelta]] = {}
        self._answered: set[tuple[str, int]] = set()

    def behaviour(self, person_id: str) -> Behaviour:
        person = self.roster.get(person_id)
        return behaviour_for(self.people, person_id, person.groups if person else ())

    def unreachable(self) -> list[str]:
        """The phones of the people the scenario makes unreachable."""
        return [p.phone for p in self.roster.people if self.behaviour(p.id).unreachable]

    def react(self, item: Claimed, sent: datetime, incidents: IncidentCodes) -> None:
        """What ``item`` (a message that reached its person at ``sent``) makes that person do, if anything."""
        if item.incident_id is None or item.person_id is None:
            return
        key = (item.person_id, item.incident_id)
        b = self.behaviour(item.person_id)
        answers, delay = self._decide(*key)
        if not answers or b.unreachable:
            return
        by_voice = b.voice_only or self._no_reply_channel(item.to)
        if item.channel == "voice":
            if by_voice and key not in self._answered:
                self._answered.add(key)
                self.schedule(sent + KEYPRESS_AFTER, "keypress", item.id)
            return
        if by_voice:
            return
        if item.kind in REPLY_KINDS and key not in self._answered:
            self._answered.add(key)
            codes, open_count = incidents()
            text = self._reply_text(codes.get(item.incident_id, ""), open_count)
        elif item.kind in ACK_KINDS:
            codes, _ = incidents()
            text = f"1 {codes.get(item.incident_id, '')}"
        else:
            return
        self.schedule(sent + delay, "sms", (item.to, text))

    def _no_reply_channel(self, phone: str) -> bool:
        route = self.messaging.route_for(phone) if self.messaging else None
        return route is not None and (not route.replies or route.confirm == "voice_instead")

    def _decide(self, person_id: str, incident_id: int) -> tuple[bool, timedelta]:
        """Once per person and incident: will they ever answer, and after how long."""
        key = (person_id, incident_id)
        if key not in self._decided:
            b = self.behaviour(person_id)
            never = self.rng.random() < (b.never_reply or 0.0)
            delay = b.reply_after.sample(self.rng.random(), self.rng.gauss(0, 1)) if b.reply_after else DEFAULT_DELAY
            self._decided[key] = (not never, delay)
        return self._decided[key]

    def _reply_text(self, code: str, open_count: int) -> str:
        """With several incidents open a reply must name its code; otherwise people answer as people do."""
        if open_count > 1:
            return f"1 {code}"
        return self.rng.choice(["1", f"1 {code}", "收到", "确认", "ok", "1"])
