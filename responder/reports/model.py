"""The after-action report as plain data: what :mod:`responder.reports.assemble` makes of the stored records.

Every time is aware UTC here; renderers show it in the plan's zone (``ReportData.timezone``).
Durations are ``timedelta``; ``None`` means "never" (nobody confirmed, the headcount was not reached).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from responder.domain.level_history import LevelEvent
from responder.reports.story import DecisionEntry, Mark, SentText


@dataclass(frozen=True)
class LevelChange(LevelEvent):
    """One declared change of warning level of one incident, from the audit trail."""

    incident_id: int


@dataclass(frozen=True)
class LevelSpan:
    """A stretch of time during which an incident stood at one level."""

    incident_id: int
    level: int
    colour: str
    """blue, yellow, orange or red (from the plan snapshot)."""
    start: datetime
    end: datetime


@dataclass(frozen=True)
class IncidentInfo:
    id: int
    code: str
    hazard: str
    hazard_name: str
    area_name: str
    is_drill: bool
    status: str
    reason: str
    raised_by: str
    raised_at: datetime
    ended_at: datetime | None
    level: int
    """The level it stood at last."""
    most_severe: int
    changes: tuple[LevelChange, ...]
    messages_by_kind: tuple[tuple[str, int], ...]
    messages_by_status: tuple[tuple[str, int], ...]
    recipients: int


@dataclass(frozen=True)
class PersonFigures:
    """One recipient of one incident: when called, when (and how) confirmed, what reached them."""

    incident_id: int
    person_id: str
    name: str
    groups: tuple[str, ...]
    chain: tuple[str, ...]
    """Rungs of the reporting chain this person was told as (deputy in charge, county...)."""
    zones: tuple[str, ...]
    called_at: datetime
    called_level: int
    """The level they were first called at."""
    confirmed_at: datetime | None
    confirmed_channel: str | None
    confirmed_by: str | None
    messages: int
    """Messages handed to (or meant for) them, cancelled ones excluded."""
    reached: int
    """Messages sent or delivered."""
    failed: int
    """Messages failed or undelivered."""
    channels: tuple[str, ...]
    called_levels: tuple[int, ...] = ()
    """Every level they were called (or re-tasked) at, in order; ``called_level`` is the first."""

    @property
    def time_to_confirm(self) -> timedelta | None:
        return None if self.confirmed_at is None else self.confirmed_at - self.called_at

    @property
    def called_out(self) -> bool:
        """Called for a task (a group or an evacuation zone), not only told as a rung of the chain."""
        return bool(self.groups or self.zones)

    @property
    def unreachable(self) -> bool:
        """Every message that went anywhere failed: not one was sent or delivered."""
        return self.failed > 0 and self.reached == 0


@dataclass(frozen=True)
class GroupFigures:
    incident_id: int
    group: str
    name: str
    called: int
    confirmed: int
    called_at: datetime
    """When the first of the group was called."""
    first_confirmation: timedelta | None
    required: int | None
    """The headcount the plan's resources require of this group, if any."""
    headcount_reached: timedelta | None
    """How long after ``called_at`` the ``required``-th confirmation came; None if never (or no headcount)."""
    median: timedelta | None
    p90: timedelta | None
    not_confirmed: tuple[str, ...]
    unreachable: tuple[str, ...]

    @property
    def rate(self) -> float | None:
        return self.confirmed / self.called if self.called else None

    @property
    def reached_headcount(self) -> bool | None:
        """None when the plan sets no headcount for the group."""
        return None if self.required is None else self.headcount_reached is not None


@dataclass(frozen=True)
class StepFigures:
    """One escalation step as scheduled and (maybe) executed."""

    incident_id: int
    level: int
    round: int
    step_index: int
    action: str
    chain_step: str | None
    chain_name: str | None
    due_at: datetime
    after: timedelta
    """``due_at`` minus the time the incident was raised (T+...)."""
    status: str
    """done, skipped, cancelled or pending."""
    done_at: datetime | None
    messages: int
    detail: str
    to: tuple[str, ...]

    @property
    def skip_reason(self) -> str | None:
        """'rung answered', 'all confirmed' or another reason for a skipped step."""
        if self.status != "skipped":
            return None
        if "answered" in self.detail:
            return "rung answered"
        if "confirmed" in self.detail:
            return "all confirmed"
        return self.detail or "skipped"


@dataclass(frozen=True)
class ChainUse:
    """What happened to one rung of the reporting chain in one incident."""

    incident_id: int
    chain_step: str
    name: str
    outcome: str
    """informed (told at once when the level was declared), used, skipped (the rung before answered),
    not needed (everyone had confirmed), cancelled, pending."""
    at: datetime | None
    messages: int


@dataclass(frozen=True)
class SlowResponder:
    incident_id: int
    person_id: str
    name: str
    groups: tuple[str, ...]
    level: int
    deadline: timedelta
    took: timedelta


@dataclass(frozen=True)
class ReplyInfo:
    incident_id: int | None
    received_at: datetime
    person_id: str | None
    name: str
    from_number: str
    body: str
    outcome: str


@dataclass(frozen=True)
class AckInfo:
    incident_id: int
    person_id: str
    name: str
    at: datetime
    channel: str
    by: str
    first: bool
    """True for the person's confirmation; later ones acknowledge escalation reports."""


@dataclass(frozen=True)
class Gap:
    """A weakness of the plan or roster that this incident showed."""

    kind: str
    """no_deputy, no_leader, shared_person, headcount_not_reached, two_incidents."""
    incident_id: int | None
    subject: str
    detail: str


@dataclass(frozen=True, slots=True)
class Reading:
    """A station reading as the chart shows it."""

    station_id: str
    quantity: str
    at: datetime
    """Aware UTC."""
    value: float
    unit: str


@dataclass(frozen=True)
class Threshold:
    key: str
    """The station's key in the plan (warning_level, guaranteed_level, ...)."""
    label: str
    value: float


@dataclass(frozen=True)
class RainThreshold:
    """One threshold of one of the plan's rain rules (kind ``rain_total``): rain over ``window`` at or above
    ``value`` mm gives ``level``."""

    rule: str
    level: int
    value: float
    """mm over the window."""
    window: timedelta
    colour: str
    """The level's colour name in the plan snapshot (blue, yellow, orange, red)."""


@dataclass(frozen=True)
class RainTotals:
    """The rolling total a rain rule compares: rain over ``(t - window, t]`` at each reading time ``t`` shown,
    counted from the readings since ``t - window`` (also those before the chart opens)."""

    window: timedelta
    thresholds: tuple[RainThreshold, ...]
    """The thresholds with this window that apply to the station, least severe (smallest) first."""
    points: tuple[tuple[datetime, float], ...]


@dataclass(frozen=True)
class StationSeries:
    station_id: str
    name: str
    name_en: str
    kind: str
    quantity: str
    unit: str
    thresholds: tuple[Threshold, ...]
    points: tuple[tuple[datetime, float], ...]
    rain_totals: tuple[RainTotals, ...] = ()
    """Rain series: one rolling total per window the plan's rain rules use at this station."""

    @property
    def is_rain(self) -> bool:
        words = f"{self.kind} {self.quantity}".lower()
        return any(w in words for w in ("rain", "precip", "pptn"))


@dataclass(frozen=True)
class Overall:
    called: int
    confirmed: int
    first_confirmation: timedelta | None
    median: timedelta | None
    p90: timedelta | None

    @property
    def rate(self) -> float | None:
        return self.confirmed / self.called if self.called else None


@dataclass(frozen=True)
class CapIssued:
    """A public warning (CAP 1.2 message) the incident published."""

    incident_id: int
    identifier: str
    msg_type: str
    """Alert, Update or Cancel."""
    status: str
    """Actual, or Exercise for a drill."""
    sent: datetime
    level: int | None


@dataclass(frozen=True)
class LevelStyle:
    level: int
    colour: str
    name: str
    name_en: str


@dataclass(frozen=True)
class ReportData:
    title: str
    language: str
    timezone: str
    start: datetime
    end: datetime
    """The incidents' window: first raise to last stand-down (or the clock, while one is open)."""
    incidents: tuple[IncidentInfo, ...]
    groups: tuple[GroupFigures, ...]
    people: tuple[PersonFigures, ...]
    steps: tuple[StepFigures, ...]
    chain: tuple[ChainUse, ...]
    acks: tuple[AckInfo, ...]
    unreachable: tuple[PersonFigures, ...]
    never_answered: tuple[PersonFigures, ...]
    slow: tuple[SlowResponder, ...]
    replies: tuple[ReplyInfo, ...]
    """Replies that were not confirmations (notes, replies asking nothing we understood, ...)."""
    gaps: tuple[Gap, ...]
    stations: tuple[StationSeries, ...]
    level_spans: tuple[LevelSpan, ...]
    level_styles: tuple[LevelStyle, ...]
    overall: Overall
    marks: tuple[Mark, ...] = ()
    """A dam break, the stand-down: drawn across the chart."""
    texts: tuple[SentText, ...] = ()
    """Every distinct text that reached people."""
    decisions: tuple[DecisionEntry, ...] = ()
    """The decision log: the audit trail less the replies."""
    cap_messages: tuple[CapIssued, ...] = ()
    """Empty when the plan has no cap: section."""

    @property
    def is_drill(self) -> bool:
        return any(i.is_drill for i in self.incidents)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def incident(self, incident_id: int) -> IncidentInfo:
        return next(i for i in self.incidents if i.id == incident_id)

    def style(self, level: int) -> LevelStyle | None:
        return next((s for s in self.level_styles if s.level == level), None)
