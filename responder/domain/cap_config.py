"""The plan's ``cap:`` section: how a declared level becomes a public CAP 1.2 warning.

Who sends it (sender, name, web page, contact), how long it stands (``expires``), what each level
means to the public (urgency, severity, certainty, response), the words (templates, rendered by the
same renderer as the SMS), and where (the affected area; the evacuation zones carry their own
geometry). ``plan.py`` imports this module, so it declares its own strict base.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from responder.domain.entry import PlanText
from responder.domain.geometry import Geometry
from responder.domain.types import Duration

LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")]
LocalText = dict[LanguageCode, PlanText]
LevelNumber = Annotated[int, Field(ge=1, le=4)]

Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
Category = Literal["Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
                   "CBRNE", "Other"]
ResponseType = Literal["Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear",
                       "None"]
ChangeKind = Literal["raised", "upgraded", "downgraded", "ended"]
"""The audit events that publish a CAP message: raised → Alert, upgraded/downgraded → Update, ended → Cancel."""

NO_SPACE_COMMA = r"^[^\s,<&]+$"
"""CAP 1.2 3.2.1: identifier and sender contain no spaces, commas or restricted characters (< and &)."""

MAX_EXPIRES = timedelta(days=7)
"""The longest a message can stand: the feed looks this far back for incidents ended since."""

DEFAULT_TAGS = {"zh": "zh-CN", "en": "en-US"}
"""RFC 3066 tags for the plan's bare language codes, used where ``language_tags`` does not say."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


class CapLevel(_Strict):
    """What one warning level tells the public systems: every field required, so none is guessed."""

    urgency: Urgency
    severity: Severity
    certainty: Certainty
    response: list[ResponseType] = []
    """responseType: what people should do (Prepare, Monitor...); Evacuate is added where the level evacuates."""


DEFAULT_LEVELS: dict[int, CapLevel] = {
    1: CapLevel(urgency="Immediate", severity="Extreme", certainty="Observed", response=["Prepare"]),
    2: CapLevel(urgency="Expected", severity="Severe", certainty="Likely", response=["Prepare"]),
    3: CapLevel(urgency="Expected", severity="Moderate", certainty="Likely", response=["Prepare"]),
    4: CapLevel(urgency="Future", severity="Minor", certainty="Possible", response=["Monitor"]),
}
"""Red is declared for what has happened (a dam broke upstream): Observed, act now. Orange and yellow warn
of flooding that is likely within hours; blue asks people to watch."""

ENDED = CapLevel(urgency="Past", severity="Minor", certainty="Observed", response=["AllClear"])
"""The stand-down's info: the threat is over (CAP's AllClear), no action is required any more."""


class CapHazard(_Strict):
    category: Annotated[list[Category], Field(min_length=1)] = ["Met"]
    """CAP category; Met covers floods and droughts ("meteorological, inc. flood")."""
    event: LocalText = {}
    """The event type in each language (e.g. 洪水预警 / Flood warning); the hazard's name when unset."""
    event_codes: dict[Annotated[str, Field(min_length=1)], Annotated[str, Field(min_length=1)]] = {}
    """eventCode values by scheme, for systems that key on them."""
    instruction: dict[LevelNumber, LocalText] = {}
    """This hazard's instruction per level, where it differs from ``templates.instruction`` (drought: save water)."""


class CapTemplates(_Strict):
    """headline and description per change, instruction per level and at the stand-down.

    Placeholders are the SMS templates' ({area}, {hazard}, {colour}, {level}, {old_level}, {reason},
    {drill}, {code}) plus {condition} (the level's condition in the plan) and {zones} (the evacuation
    zones with their shelters).
    """

    headline: dict[ChangeKind, LocalText]
    description: dict[ChangeKind, LocalText]
    instruction: dict[LevelNumber, LocalText]
    all_clear: LocalText
    """The instruction at the stand-down."""


class CapArea(_Strict):
    """The area the warning covers, named for people and drawn for machines."""

    name: LocalText
    geometry: Geometry | None = None


class CapConfig(_Strict):
    sender: Annotated[str, Field(pattern=NO_SPACE_COMMA, max_length=200)]
    """Globally unique, e.g. an address at the office's domain: flood-office@sanjian.example."""
    sender_name: LocalText
    identifier_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=40)] | None = None
    """Start of every message identifier; the plan's area id when unset."""
    web: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    contact: LocalText = {}
    expires: Duration = timedelta(hours=24)
    """How long each message stands after it is sent (a later Update or Cancel replaces it sooner)."""
    public_drills: bool = False
    """Whether drills (status Exercise) appear in the public feed; the CLI exports them either way."""
    language_tags: dict[LanguageCode, Annotated[str, Field(pattern=r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")]] = {}
    """The RFC 3066 tag of each plan language in the info blocks; zh → zh-CN and en → en-US by default."""
    drill_note: LocalText = {}
    """The alert's note on an Exercise (one text, the plan's languages joined)."""
    hazards: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")], CapHazard] = {}
    levels: dict[LevelNumber, CapLevel] | None = None
    """All four levels, or none for the defaults (red Extreme, orange Severe, yellow Moderate, blue Minor)."""
    templates: CapTemplates
    area: CapArea

    @field_validator("expires")
    @classmethod
    def _bounded(cls, value: timedelta) -> timedelta:
        if not timedelta(minutes=10) <= value <= MAX_EXPIRES:
            raise ValueError("expires must be between 10m and 7d (a warning that stands longer is updated)")
        return value

    def level(self, number: int) -> CapLevel:
        levels = self.levels if self.levels is not None else DEFAULT_LEVELS
        return levels[number]

    def hazard(self, hazard_id: str) -> CapHazard:
        return self.hazards.get(hazard_id) or CapHazard()

    def language_tag(self, language: str) -> str:
        return self.language_tags.get(language) or DEFAULT_TAGS.get(language, language)

    def prefix(self, area_id: str) -> str:
        return self.identifier_prefix or area_id
