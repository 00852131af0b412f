"""``plan check`` of the ``cap:`` section: an incomplete mapping is a located error, never a broken export.

The models already refuse a level without severity, a bad polygon or an unknown enumeration value;
here is what shows only across the plan: all four levels mapped, every hazard known, every area
(the affected area and each evacuation zone) drawn or coded, every template in every language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

from responder.domain.cap_config import ChangeKind
from responder.domain.errors import Severity
from responder.domain.plan import TEMPLATE_FIELDS, LocalText, Plan, template_fields
from responder.domain.types import LEVELS

CAP_FIELDS = TEMPLATE_FIELDS | {"condition", "zones"}
"""Placeholders a CAP template may use: the SMS ones, the level's condition and the evacuation zones."""

Report = Callable[[tuple[str | int, ...], str, Severity], None]


def check_cap(plan: Plan, report: Report) -> None:
    cap = plan.cap
    if cap is None:
        return
    error, warning = Severity.ERROR, Severity.WARNING
    if cap.levels is not None:
        for level in LEVELS:
            if level not in cap.levels:
                report(("cap", "levels"), f"level {level} has no CAP mapping (urgency, severity, certainty): map "
                                          "all four levels, or leave levels out for the defaults", error)
    hazards = {h.id for h in plan.hazards}
    for hazard_id, settings in cap.hazards.items():
        if hazard_id not in hazards:
            report(("cap", "hazards", hazard_id), f"unknown hazard {hazard_id!r} (known: {', '.join(sorted(hazards))})",
                   error)
        for level, text in settings.instruction.items():
            _template(plan, ("cap", "hazards", hazard_id, "instruction", level), text, report)
    if cap.area.geometry is None:
        report(("cap", "area"), "the affected area has no geometry: give a polygon, a circle or codes (e.g. the "
                                "administrative division code)", error)
    for zi, zone in enumerate(plan.evacuation_zones):
        if zone.geometry is None:
            report(("evacuation_zones", zi), f"evacuation zone {zone.id!r} has no geometry: the public warning "
                                            "(cap:) names it as an area, so give a polygon, a circle or codes", error)
    for name in ("headline", "description"):
        texts: dict[str, LocalText] = getattr(cap.templates, name)
        for kind in get_args(ChangeKind):
            if kind not in texts:
                report(("cap", "templates", name), f"no {name} for {kind!r}", error)
        for kind, text in texts.items():
            _template(plan, ("cap", "templates", name, kind), text, report)
    for level in LEVELS:
        if level not in cap.templates.instruction:
            report(("cap", "templates", "instruction"), f"no instruction for level {level}: the public is told "
                                                       "nothing to do", warning)
    for level, text in cap.templates.instruction.items():
        _template(plan, ("cap", "templates", "instruction", level), text, report)
    _template(plan, ("cap", "templates", "all_clear"), cap.templates.all_clear, report)
    for key in ("sender_name", "area"):
        text = cap.sender_name if key == "sender_name" else cap.area.name
        for lang in plan.languages:
            if not text.get(lang, "").strip():
                report(("cap", key), f"no text in language {lang!r}", warning)
    for lang in cap.language_tags:
        if lang not in plan.languages:
            report(("cap", "language_tags", lang), f"{lang!r} is not one of the plan's languages {plan.languages}",
                   warning)


def _template(plan: Plan, path: tuple[str | int, ...], text: LocalText, report: Report) -> None:
    for lang in plan.languages:
        if not text.get(lang, "").strip():
            report(path, f"no text in language {lang!r}", Severity.ERROR)
    for lang, template in text.items():
        try:
            unknown = template_fields(template) - CAP_FIELDS
        except ValueError as exc:
            report((*path, lang), f"broken template: {exc}", Severity.ERROR)
            continue
        if unknown:
            report((*path, lang), f"unknown placeholder(s) {', '.join('{' + u + '}' for u in sorted(unknown))}",
                   Severity.ERROR)
