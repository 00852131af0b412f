"""The village loudspeaker script (大喇叭/村村响): what the office reads out, and what a TTS voice says.

When the mobile network is down, the loudspeaker is how residents hear a warning. Broadcasts are
read twice; a drill says so first, in writing (【演练】) and aloud (a voice cannot say the brackets).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from responder.domain.errors import InputError, Problem
from responder.domain.messages import IncidentFacts, render
from responder.domain.plan import Plan, pick


@dataclass(frozen=True)
class BroadcastScript:
    language: str
    once: str
    """One reading, as written (with the written drill marker)."""
    text: str
    """The whole script for the .txt: the reading, the repeat phrase, the reading again."""
    spoken: tuple[str, ...]
    """The readings as a voice should say them (spoken drill marker, no brackets); a pause goes between them."""


_DOUBLED = re.compile(r"([。！？；，,.;!?])\s*[。；，,.;]+")
_BRACKETS = re.compile(r"[【】\[\]〔〕]")
_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")


def broadcast_script(plan: Plan, facts: IncidentFacts, language: str) -> BroadcastScript:
    """The script in ``language`` for the incident's hazard and level, from the plan's broadcast template."""
    templates = plan.templates.broadcast
    if templates is None:
        raise InputError(Problem("the plan this incident was declared under has no broadcast template: add "
                                 "templates.broadcast to the plan (see config/plan.yaml) for incidents raised "
                                 "after that", field="templates.broadcast"))
    lang = language if language in plan.languages else plan.default_language
    hazard = plan.hazard(facts.hazard)
    callout = hazard.at(facts.level) if hazard else None
    zone_facts = replace(facts, is_drill=False)  # the marker opens the script once, not every zone line
    zones = [render(plan, templates.zone, lang, zone_facts, extras={
        "zone": pick(zone.stretch, lang, plan.default_language),
        "shelter": pick(zone.shelter, lang, plan.default_language)})
        for zone in (plan.evacuation_zones if callout and callout.evacuation else ())]
    extras = {
        "advice": pick(callout.advice, lang, plan.default_language).rstrip("。.！!；; ") if callout else "",
        "evacuation": ("" if lang == "zh" else " ").join(zones),
    }
    facts = replace(facts, reason=facts.reason.rstrip("。.！!；; "))
    once = _tidy(render(plan, templates.text, lang, facts, extras=extras))
    spoken_drill = pick(templates.spoken_drill, lang, plan.default_language) + " " if facts.is_drill else ""
    said = _tidy(render(plan, templates.text, lang, facts, extras={**extras, "drill": spoken_drill}))
    repeat = pick(templates.repeat, lang, plan.default_language).strip()
    return BroadcastScript(lang, once, f"{once}\n\n{repeat}\n{once}\n",
                           (speakable(said, lang), speakable(f"{repeat} {said}", lang)))


def _tidy(text: str) -> str:
    """No doubled punctuation where an optional part ({advice}, {evacuation}) was empty or ended a sentence."""
    return " ".join(_DOUBLED.sub(r"\1", text).split())


def speakable(text: str, language: str) -> str:
    """Text a TTS voice reads right: no brackets; in Chinese a decimal point is 点 (4.6米, not 四六米)."""
    text = _BRACKETS.sub(" ", text)
    if language == "zh":
        text = _DECIMAL.sub("点", text)
    return " ".join(text.split())
