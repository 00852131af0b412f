"""The emergency plan as validated data.

Every key of ``config/plan.yaml`` is a field here; unknown keys are refused so that a typo never
passes silently. Cross-references (a group named in the call-out matrix, a person named in the
escalation chain) are checked by :mod:`responder.domain.checks`, which also sees the roster.
"""

from __future__ import annotations

import calendar
import re
import string
from datetime import date, timedelta
from functools import cached_property
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from responder.domain.cap_config import CapConfig
from responder.domain.entry import PlanText
from responder.domain.geometry import Geometry
from responder.domain.routes import Messaging
from responder.domain.rules import Rule
from responder.domain.stale_alarms import AlarmPolicy
from responder.domain.stations import Feed, Station
from responder.domain.types import Duration, Role, within

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=40)]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")]
LevelNumber = Annotated[int, Field(ge=1, le=4)]

TEMPLATE_FIELDS = frozenset(
    {
        "drill", "area", "level", "level_name", "colour", "hazard", "reason", "group", "task",
        "report_to", "code", "time", "names", "count", "person", "incident", "zone", "shelter",
        "old_level", "evidence", "station", "value", "proposal", "codes", "status", "feed", "advice", "evacuation",
    }
)
"""The placeholders a message template may use; anything else is a typo."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


LocalText = dict[LanguageCode, PlanText]
"""Text in several languages, keyed by language code (zh, en, ...)."""


def pick(text: LocalText, language: str, fallback: str | None = None) -> str:
    """The text in ``language``, else in ``fallback``, else any: a name is better than nothing."""
    if language in text:
        return text[language]
    if fallback and fallback in text:
        return text[fallback]
    return next(iter(text.values()), "")


class Area(Strict):
    id: Slug
    name: LocalText
    timezone: str
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Asia/Shanghai)") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


MonthDay = Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]


class Season(Strict):
    """The main flood season (主汛期): every hour of it must have a duty officer."""

    name: LocalText
    start: MonthDay
    end: MonthDay

    @field_validator("start", "end")
    @classmethod
    def _real_day(cls, value: str) -> str:
        month, day = (int(x) for x in value.split("-"))
        try:
            date(2000, month, day)  # a leap year: 02-29 is a real day
        except ValueError:
            raise ValueError(f"{value!r} is not a day of the year (write MM-DD, e.g. 06-01)") from None
        return value

    @model_validator(mode="after")
    def _within_a_year(self) -> Season:
        if self.start > self.end:
            raise ValueError(f"the season must start and end in the same year ({self.start} is after {self.end})")
        return self

    def dates(self, year: int) -> tuple[date, date]:
        """First and last day of the season in ``year`` (local calendar); 02-29 is 02-28 in other years."""
        return _day(year, self.start), _day(year, self.end)


def _day(year: int, month_day: str) -> date:
    month, day = (int(x) for x in month_day.split("-"))
    if (month, day) == (2, 29) and not calendar.isleap(year):
        day = 28
    return date(year, month, day)


class SmsLimit(Strict):
    """Length and content rules for numbers starting with ``prefix`` (e.g. +86)."""

    prefix: Annotated[str, Field(pattern=r"^\+\d{1,4}$")]
    max_chars: Annotated[int, Field(ge=70, le=1600)]
    allow_urls: bool = True


class SmsPolicy(Strict):
    default_max_chars: Annotated[int, Field(ge=70, le=1600)] = 1600
    limits: list[SmsLimit] = []
    drill_marker: LocalText
    sender_name: LocalText = {}

    def limit_for(self, phone: str) -> SmsLimit:
        best: SmsLimit | None = None
        for limit in self.limits:
            if phone.startswith(limit.prefix) and (best is None or len(limit.prefix) > len(best.prefix)):
                best = limit
        return best or SmsLimit(prefix="+0", max_chars=self.default_max_chars, allow_urls=True)


class LevelDef(Strict):
    level: LevelNumber
    colour: Literal["blue", "yellow", "orange", "red"]
    name: LocalText
    colour_name: LocalText
    condition: LocalText


class Group(Strict):
    id: Slug
    name: LocalText
    duties: LocalText


class CalloutEntry(Strict):
    """One group called at one level, with the task it gets there."""

    group: Slug
    task: LocalText
    report_to: LocalText
    roles: list[Role] = [Role.LEADER, Role.DEPUTY, Role.MEMBER]


class LevelCallout(Strict):
    level: LevelNumber
    groups: list[CalloutEntry]
    evacuation: bool = False
    inform: list[Slug] = []
    """Escalation-chain steps told at once when this level is declared (e.g. level 2: the deputy)."""
    advice: LocalText = {}
    """What the village loudspeaker tells residents to do at this level (群众须知); the broadcast's {advice}."""


class HazardDef(Strict):
    id: Slug
    name: LocalText
    callout: list[LevelCallout]

    @model_validator(mode="after")
    def _one_entry_per_level(self) -> HazardDef:
        seen: set[int] = set()
        for entry in self.callout:
            if entry.level in seen:
                raise ValueError(f"level {entry.level} appears twice in the call-out of {self.id}")
            seen.add(entry.level)
        return self

    def at(self, level: int) -> LevelCallout | None:
        return next((c for c in self.callout if c.level == level), None)


class ExternalContact(Strict):
    name: str
    phone: str
    language: LanguageCode


class Target(Strict):
    """Who is reached at an escalation step: a person, a role in a group, the duty officer, or an outsider."""

    person: str | None = None
    group: Slug | None = None
    role: Role | None = None
    duty_officer: bool = False
    external: ExternalContact | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        chosen = [self.person is not None, self.group is not None, self.duty_officer, self.external is not None]
        if sum(chosen) != 1:
            raise ValueError("give exactly one of person, group (with role), duty_officer or external")
        if self.group is not None and self.role is None:
            raise ValueError("a group target needs a role (leader, deputy or member)")
        return self


class ChainStep(Strict):
    """A rung of the reporting chain (duty office → deputy in charge → township head → county)."""

    id: Slug
    name: LocalText
    targets: list[Target]


class EscalationStep(Strict):
    after: Annotated[Duration, within("0s", "7d")]
    """Time since the call-out at which this step falls due."""
    action: Literal["resend_sms", "voice_call", "notify_group_deputy", "notify_group_leader", "notify_chain"]
    chain_step: Slug | None = None

    @model_validator(mode="after")
    def _chain_step_given(self) -> EscalationStep:
        if self.action == "notify_chain" and not self.chain_step:
            raise ValueError("notify_chain needs chain_step (an id from escalation_chain)")
        return self


class LevelPolicy(Strict):
    level: LevelNumber
    confirm_within: Annotated[Duration, within("1s", "7d")] | None = None
    steps: list[EscalationStep] = []
    repeat: Annotated[int, Field(ge=0, le=5)] = 0
    """How many more times the whole list of steps runs after the first pass (bounded)."""
    repeat_every: Annotated[Duration, within("1s", "7d")] = timedelta(minutes=30)


class BroadcastTemplates(Strict):
    """The village loudspeaker script (大喇叭/村村响): read out twice, the second time after ``repeat``."""

    text: LocalText
    """The announcement; {advice} is the level's advice, {evacuation} the ``zone`` lines where the level evacuates."""
    zone: LocalText
    """One line per evacuation zone: {zone} (the stretch) and {shelter}."""
    repeat: LocalText
    """Said between the two readings (现在重复一遍)."""
    spoken_drill: LocalText
    """The drill marker as spoken: a TTS voice cannot say 【演练】 or [DRILL]."""


class Templates(Strict):
    """Message templates per level and language; ``{placeholders}`` come from TEMPLATE_FIELDS."""

    callout: dict[LevelNumber, LocalText]
    upgrade: LocalText
    downgrade: LocalText
    released: LocalText
    """To people no longer needed after a downgrade."""
    standdown: LocalText
    evacuation: LocalText
    confirmed: LocalText
    which_incident: LocalText
    failure_summary: LocalText
    escalate_group: LocalText
    escalate_chain: LocalText
    inform_chain: LocalText
    voice: LocalText
    proposal: LocalText
    stale_feed: LocalText
    feed_recovered: LocalText
    broadcast: BroadcastTemplates | None = None
    """Optional so that incidents declared under an older plan still load their snapshot."""


class EvacuationZone(Strict):
    id: Slug
    stretch: LocalText
    shelter: LocalText
    responsible: str
    helpers: list[str] = []
    geometry: Geometry | None = None
    """Where the stretch is (outline, circle, area codes): the public warning's area, a map's zone."""


class Team(Strict):
    id: Slug
    name: LocalText
    headcount: Annotated[int, Field(ge=0, le=100_000)]
    group: Slug | None = None
    """The roster group that must reach this headcount of confirmations when called."""


class Vehicle(Strict):
    kind: Slug
    name: LocalText
    count: Annotated[int, Field(ge=0, le=100_000)]


class Resources(Strict):
    teams: list[Team] = []
    vehicles: list[Vehicle] = []
    medical_staff: Annotated[int, Field(ge=0, le=100_000)] = 0
    funds: Annotated[int, Field(ge=0, le=10**12)] = 0
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"

    def headcount(self, group: str) -> int | None:
        total = [t.headcount for t in self.teams if t.group == group]
        return sum(total) if total else None


class Duty(Strict):
    rota_file: str = "contacts/duty-rota.csv"
    season: Season
    fallback: str | None = None
    """Who stands in as duty officer when the rota names nobody (outside the season)."""


class Plan(Strict):
    """A township's (or any area's) flood and drought emergency plan."""

    version: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    area: Area
    languages: Annotated[list[LanguageCode], Field(min_length=1)]
    duty: Duty
    sms: SmsPolicy
    levels: list[LevelDef]
    groups: list[Group]
    hazards: list[HazardDef]
    escalation_chain: list[ChainStep]
    escalation_policy: list[LevelPolicy] = []
    templates: Templates
    evacuation_zones: list[EvacuationZone] = []
    resources: Resources = Resources()
    feeds: list[Feed] = []
    """Where readings come from: county CSV files, USGS or WaterML services, an SL 323 database, duty staff."""
    stations: list[Station] = []
    """Rain gauges, river gauges and reservoirs, with their warning levels."""
    rules: list[Rule] = []
    """Trigger and drought rules, evaluated every cycle."""
    cap: CapConfig | None = None
    """The public warning (CAP 1.2) each declared level publishes; none without this section."""
    feed_alarms: AlarmPolicy = AlarmPolicy()
    """How the duty officer hears of silent stations: hysteresis, quiet period, messages per hour."""
    messaging: Messaging | None = None
    """Gateways per route (+86 through a domestic provider, the rest through Twilio) and group chat robots; without
    it every message goes through the deployment's one gateway (``RESPONDER_GATEWAY``)."""

    @model_validator(mode="after")
    def _four_levels(self) -> Plan:
        numbers = sorted(level.level for level in self.levels)
        if numbers != [1, 2, 3, 4]:
            raise ValueError(f"levels must be exactly 4, 3, 2 and 1 (found {numbers})")
        return self

    @cached_property
    def group_ids(self) -> frozenset[str]:
        return frozenset(g.id for g in self.groups)

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def level(self, number: int) -> LevelDef:
        return next(level for level in self.levels if level.level == number)

    def group(self, group_id: str) -> Group:
        return next(g for g in self.groups if g.id == group_id)

    def hazard(self, hazard_id: str) -> HazardDef | None:
        return next((h for h in self.hazards if h.id == hazard_id), None)

    def chain_step(self, step_id: str) -> ChainStep | None:
        return next((s for s in self.escalation_chain if s.id == step_id), None)

    def policy(self, level: int) -> LevelPolicy | None:
        return next((p for p in self.escalation_policy if p.level == level), None)


_URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)


def contains_url(text: str) -> bool:
    return bool(_URL.search(text))


def template_fields(template: str) -> set[str]:
    """The placeholder names a template uses; raises ValueError on broken braces."""
    names: set[str] = set()
    for _, field_name, _, _ in string.Formatter().parse(template):
        if field_name is not None:
            names.add(field_name.split(".")[0].split("[")[0])
    return names
