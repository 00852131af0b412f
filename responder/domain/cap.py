"""An incident's public warnings: its level history turned into CAP 1.2 messages.

Each declared change publishes one message: the raise an Alert, each upgrade or downgrade an Update
that references every earlier message of the incident, the stand-down a Cancel that references them
all. Everything in a message comes from the incident, its audit events and the plan it was declared
under, never from the clock: the same history always gives the same messages, identifiers and bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from responder.domain.cap_config import ENDED, CapConfig, CapLevel, ChangeKind
from responder.domain.cap_model import Alert, Area, Info, NamedValue, cap_time
from responder.domain.geometry import Geometry
from responder.domain.level_history import LevelEvent
from responder.domain.messages import IncidentFacts, render
from responder.domain.plan import EvacuationZone, LocalText, Plan, pick

MSG_TYPES = {"raised": "Alert", "upgraded": "Update", "downgraded": "Update", "ended": "Cancel"}
LEVEL_PARAMETER = "level"
COLOUR_PARAMETER = "colour"
_IDENTIFIER_TAIL = re.compile(r"-(\d{1,12})-(\d{1,6})$")


@dataclass(frozen=True)
class CapIncident:
    """What the export needs to know of an incident: who it is, and its level history in time order."""

    incident_id: int
    code: str
    hazard: str
    is_drill: bool
    raised_at: datetime
    events: tuple[LevelEvent, ...]


def incident_key(plan: Plan, cap: CapConfig, incident: CapIncident) -> str:
    """The incident's name in every message's ``incidents``, and the stem of their identifiers.

    The raise time keeps it unique when a database is set up again and incident numbers restart.
    """
    raised = incident.raised_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{cap.prefix(plan.area.id)}-{incident.hazard}-{raised}-{incident.incident_id}"


def identifier(plan: Plan, cap: CapConfig, incident: CapIncident, sequence: int) -> str:
    """The ``sequence``-th message (1 = the Alert) of the incident."""
    return f"{incident_key(plan, cap, incident)}-{sequence}"


def message_level(alert: Alert) -> int | None:
    """The warning level a message speaks of (for a Cancel, the level that ended), from its parameter."""
    value = alert.infos[0].parameter(LEVEL_PARAMETER) if alert.infos else None
    return int(value) if value is not None and value.isdigit() else None


def parse_identifier(text: str) -> tuple[int, int] | None:
    """(incident id, sequence) named by an identifier :func:`identifier` made, else None."""
    match = _IDENTIFIER_TAIL.search(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def build_messages(plan: Plan, incident: CapIncident) -> list[Alert]:
    """Every CAP message the incident has published so far, oldest first."""
    cap = plan.cap
    if cap is None:
        raise ValueError("the plan has no cap: section")
    zone = plan.area.zone
    out: list[Alert] = []
    for n, event in enumerate(incident.events, start=1):
        level = event.to_level if event.to_level is not None else event.from_level
        if level is None:
            continue  # an audit event without its level (never written so): nothing to say
        sent = event.at.astimezone(zone)
        drill = incident.is_drill
        out.append(Alert(
            identifier=identifier(plan, cap, incident, n),
            sender=cap.sender,
            sent=cap_time(sent),
            status="Exercise" if drill else "Actual",
            msg_type=MSG_TYPES[event.kind],
            scope="Public",
            note=_drill_note(plan, cap) if drill else None,
            references=" ".join(m.reference() for m in out) or None,
            incidents=incident_key(plan, cap, incident),
            infos=tuple(_info(plan, cap, incident, event, level, sent, lang) for lang in plan.languages),
        ))
    return out


def _drill_note(plan: Plan, cap: CapConfig) -> str:
    texts = cap.drill_note or plan.sms.drill_marker
    return " / ".join(dict.fromkeys(texts[lang].strip() for lang in plan.languages if lang in texts)) or "Exercise"


def _info(plan: Plan, cap: CapConfig, incident: CapIncident, event: LevelEvent, level: int, sent: datetime,
          lang: str) -> Info:
    ended = event.kind == "ended"
    kind = cast(ChangeKind, event.kind)
    meaning: CapLevel = ENDED if ended else cap.level(level)
    hazard = plan.hazard(incident.hazard)
    callout = hazard.at(level) if hazard else None
    evacuates = bool(callout and callout.evacuation)
    responses = list(meaning.response)
    if evacuates and not ended and "Evacuate" not in responses:
        responses.insert(0, "Evacuate")
    facts = IncidentFacts(incident.code, incident.hazard, level, event.reason or "", incident.is_drill,
                          event.from_level)
    zones = plan.evacuation_zones if evacuates else []
    extras = {"condition": _say(plan, plan.level(level).condition, lang), "zones": _zones_text(plan, zones, lang)}
    templates = cap.templates
    settings = cap.hazard(incident.hazard)
    instruction = templates.all_clear if ended else (settings.instruction.get(level)
                                                     or templates.instruction.get(level, {}))

    def text(template: LocalText) -> str | None:
        return (render(plan, template, lang, facts, extras=extras, when=event.at) or None) if template else None

    return Info(
        language=cap.language_tag(lang),
        categories=tuple(settings.category),
        event=_say(plan, settings.event, lang) or (_say(plan, hazard.name, lang) if hazard else incident.hazard),
        response_types=tuple(responses),
        urgency=meaning.urgency,
        severity=meaning.severity,
        certainty=meaning.certainty,
        event_codes=tuple(NamedValue(k, v) for k, v in sorted(settings.event_codes.items())),
        effective=cap_time(sent),
        expires=cap_time(sent + cap.expires),
        sender_name=_say(plan, cap.sender_name, lang) or None,
        headline=text(templates.headline.get(kind, {})),
        description=text(templates.description.get(kind, {})),
        instruction=text(instruction),
        web=cap.web,
        contact=_say(plan, cap.contact, lang) or None,
        parameters=(NamedValue(LEVEL_PARAMETER, str(level)), NamedValue(COLOUR_PARAMETER, plan.level(level).colour)),
        areas=tuple(_areas(plan, cap, zones, lang)),
    )


def _say(plan: Plan, text: LocalText, lang: str) -> str:
    return pick(text, lang, plan.default_language) if text else ""


def _zones_text(plan: Plan, zones: list[EvacuationZone], lang: str) -> str:
    arrow, sep = (" → ", "；") if lang == "zh" else (" → ", "; ")
    return sep.join(f"{_say(plan, z.stretch, lang)}{arrow}{_say(plan, z.shelter, lang)}" for z in zones)


def _areas(plan: Plan, cap: CapConfig, zones: list[EvacuationZone], lang: str) -> list[Area]:
    areas = [_area(_say(plan, cap.area.name, lang), cap.area.geometry)]
    shelter = "避险点：" if lang == "zh" else "shelter: "
    left, right = ("（", "）") if lang == "zh" else (" (", ")")
    for z in zones:
        desc = f"{_say(plan, z.stretch, lang)}{left}{shelter}{_say(plan, z.shelter, lang)}{right}"
        areas.append(_area(desc, z.geometry))
    return areas


def _area(description: str, geometry: Geometry | None) -> Area:
    if geometry is None:
        return Area(description)
    polygons = (" ".join(f"{_deg(lat)},{_deg(lon)}" for lat, lon in geometry.polygon),) if geometry.polygon else ()
    circle = geometry.circle
    circles = (f"{_deg(circle.centre[0])},{_deg(circle.centre[1])} {_deg(circle.radius_km)}",) if circle else ()
    codes = tuple(NamedValue(k, v) for k, v in sorted(geometry.codes.items()))
    return Area(description, polygons, circles, codes)


def _deg(value: float) -> str:
    """Six decimals at most (about 0.1 m), no trailing zeros: the same text for the same number everywhere."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
