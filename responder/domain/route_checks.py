"""``plan check`` of the ``messaging:`` section: what a template-only provider would refuse, found before anything is
sent. Every problem is located (messaging.gateways.NAME.templates.KIND...).

A route whose SMS (or voice) gateway sends approved templates only needs a template for every kind of message it may
carry; a template body may not hold 【 or 】 (the provider adds the signature in them); a parameter may not be longer
than the provider allows (35 characters at Alibaba Cloud), counted at its longest over what the plan can put in it
(level names, hazards, tasks...: a free text such as the officer's reason is measured at preview); a parameter may
not hold a link; one number may not get more SMS a day than the provider lets through.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator

from responder.domain.errors import Severity
from responder.domain.plan import TEMPLATE_FIELDS, LocalText, Plan, contains_url, template_fields
from responder.domain.routes import FORBIDDEN_IN_BODY, GatewayConfig, ProviderTemplate

Report = Callable[[tuple[str | int, ...], str, Severity], None]

SMS_KINDS = ("callout", "resend", "upgrade", "downgrade", "released", "standdown", "confirmed", "which_incident",
             "failure_summary", "escalate_group", "escalate_chain", "inform_chain", "proposal", "stale_feed",
             "feed_recovered")
"""Every kind of SMS a person may be sent (evacuation too, where the plan has zones)."""
VOICE_KINDS = ("voice",)
CHINA_SAMPLE = "+8613800000000"
"""A Chinese mobile number: the route it takes is the route to China."""
TWILIO_IDENTICAL_TO_CHINA = 3
FIXED_LENGTH = {"level": 1, "old_level": 1, "code": 16, "time": 11}
"""Fields of a known size: a level digit, an incident code (e.g. FL-20260701-01), a time "07-01 14:30"."""


def check_messaging(plan: Plan, report: Report) -> None:
    messaging = plan.messaging
    if messaging is None:
        return
    needed: dict[str, set[str]] = {}
    for ri, route in enumerate(messaging.routes):
        unknown = [(channel, name) for channel, name in (("sms", route.sms), ("voice", route.voice))
                   if name is not None and name not in messaging.gateways]
        for channel, name in unknown:
            report(("messaging", "routes", ri, channel), f"route {route.prefix}: unknown gateway {name!r} (known: "
                   f"{', '.join(sorted(messaging.gateways))})", Severity.ERROR)
        if unknown:
            continue
        sms = messaging.gateways[route.sms]
        to_china = messaging.route_for(CHINA_SAMPLE) is route
        if sms.provider == "twilio" and to_china:
            if route.replies:
                report(("messaging", "routes", ri, "replies"), "Twilio delivers SMS to China one way: replies do not "
                       "come back; say replies: false and confirm by voice", Severity.WARNING)
            _check_identical(plan, ("messaging", "routes", ri, "sms"), report)
        if sms.templated:
            needed.setdefault(route.sms, set()).update(_sms_kinds(plan))
        if route.voice and messaging.gateways[route.voice].templated:
            needed.setdefault(route.voice, set()).update(f"voice:{k}" for k in VOICE_KINDS)
    for name, config in messaging.gateways.items():
        longest = _field_lengths(plan, config.language)
        base = ("messaging", "gateways", name)
        for kind in sorted(needed.get(name, set())):
            voice = kind.startswith("voice:")
            templates = config.voice_templates if voice else config.templates
            if kind.removeprefix("voice:") not in templates:
                report((*base, "voice_templates" if voice else "templates"),
                       f"no {config.provider} template for {kind.removeprefix('voice:')!r} "
                       f"{'calls' if voice else 'messages'}, which a route through {name!r} sends", Severity.ERROR)
        if config.templated:
            for section, templates in (("templates", config.templates), ("voice_templates", config.voice_templates)):
                for kind, template in templates.items():
                    _check_template(config, template, (*base, section, kind), longest, report)
            _check_frequency(plan, config, base, report)


def _check_identical(plan: Plan, where: tuple[str | int, ...], report: Report) -> None:
    """Twilio refuses a third identical SMS to one +86 number within 24 hours: a reminder repeats the call-out."""
    for policy in plan.escalation_policy:
        resends = sum(1 for step in policy.steps if step.action == "resend_sms") * (1 + policy.repeat)
        if 1 + resends >= TWILIO_IDENTICAL_TO_CHINA:
            report(where, f"level {policy.level} sends one +86 number the same call-out {1 + resends} times (with "
                   f"its resends); Twilio refuses the {TWILIO_IDENTICAL_TO_CHINA}rd identical SMS to a Chinese number "
                   "within 24 h: route +86 through a domestic provider, or resend by voice", Severity.ERROR)
            return


def _sms_kinds(plan: Plan) -> set[str]:
    return set(SMS_KINDS) | ({"evacuation"} if plan.evacuation_zones else set())


CODE_FORMS = {"alibaba": {"templates": re.compile(r"^SMS_\d{3,}$"), "voice_templates": re.compile(r"^TTS_\d{3,}$")}}
"""What an approved template code looks like at each provider (SMS_xxxxxxx, TTS_xxxxxxx at Alibaba Cloud)."""


def _check_template(config: GatewayConfig, template: ProviderTemplate, path: tuple[str | int, ...],
                    longest: dict[str, tuple[int, str]], report: Report) -> None:
    form = CODE_FORMS.get(config.provider, {}).get(str(path[-2]))
    if form is not None and not form.match(template.code):
        report((*path, "code"), f"{template.code!r} is not a {config.provider} template code (like "
               f"{'TTS' if path[-2] == 'voice_templates' else 'SMS'}_123456789, as the console shows it)",
               Severity.ERROR)
    for bracket in FORBIDDEN_IN_BODY:
        if bracket in template.body:
            report((*path, "body"), f"{bracket} in a {config.provider} template body: the provider adds the signature "
                   "in 【】 itself and refuses a body with them (the drill marker goes in a parameter)", Severity.ERROR)
    if contains_url(template.body):
        report((*path, "body"), "a link in a template body must be registered with the template as fixed text; "
               "check it is", Severity.WARNING)
    body_max = config.limit("body_max")
    signed = len(template.body) + len(config.sign_name or "") + 2
    if body_max is not None and signed > body_max:
        report((*path, "body"), f"{signed} characters with the signature, over the provider's {body_max}",
               Severity.ERROR)
    param_max = config.limit("param_max")
    for name, value in template.params.items():
        where = (*path, "params", name)
        try:
            fields = template_fields(value)
        except ValueError as exc:
            report(where, f"broken parameter: {exc}", Severity.ERROR)
            continue
        if unknown := sorted(fields - TEMPLATE_FIELDS):
            report(where, f"unknown placeholder {{{unknown[0]}}}", Severity.ERROR)
            continue
        if contains_url(value) or any(longest.get(f, (0, ""))[1] and contains_url(longest[f][1]) for f in fields):
            report(where, f"a link in a template parameter: {config.provider} refuses links in parameters "
                   "(isv.PARAM_NOT_SUPPORT_URL)", Severity.ERROR)
        size = len(_literal(value)) + sum(_length(f, config, longest) for f in fields)
        if param_max is not None and size > param_max:
            worst = max(fields, key=lambda f: _length(f, config, longest), default="")
            example = f" ({{{worst}}} can be {longest[worst][1]!r})" if worst in longest else ""
            report(where, f"can be {size} characters{example}, over the provider's {param_max} for a parameter "
                   "(isv.PARAM_LENGTH_LIMIT)", Severity.ERROR)


def _literal(value: str) -> str:
    return "".join(text for text, _, _, _ in string.Formatter().parse(value))


def _length(name: str, config: GatewayConfig, longest: dict[str, tuple[int, str]]) -> int:
    if name == "drill":
        return len(config.drill_marker)
    if name in FIXED_LENGTH:
        return FIXED_LENGTH[name]
    return longest.get(name, (0, ""))[0]


def _field_lengths(plan: Plan, language: str) -> dict[str, tuple[int, str]]:
    """The longest value the plan can put in each bounded field in ``language``, and that value."""
    out: dict[str, tuple[int, str]] = {}

    def note(name: str, texts: Iterator[LocalText]) -> None:
        for text in texts:
            value = text.get(language, "")
            if len(value) > out.get(name, (0, ""))[0]:
                out[name] = (len(value), value)

    entries = [e for h in plan.hazards for c in h.callout for e in c.groups]
    note("area", iter([plan.area.name]))
    note("level_name", (lv.name for lv in plan.levels))
    note("colour", (lv.colour_name for lv in plan.levels))
    note("hazard", (h.name for h in plan.hazards))
    note("group", (g.name for g in plan.groups))
    note("task", (e.task for e in entries))
    note("report_to", (e.report_to for e in entries))
    note("zone", (z.stretch for z in plan.evacuation_zones))
    note("shelter", (z.shelter for z in plan.evacuation_zones))
    note("advice", (c.advice for h in plan.hazards for c in h.callout))
    return out


def _check_frequency(plan: Plan, config: GatewayConfig, base: tuple[str | int, ...], report: Report) -> None:
    """One incident's SMS to one number in a day, at most: the call-out, every resend round, the confirmation."""
    limit = config.limit("per_number_per_day")
    if limit is None:
        return
    for pi, policy in enumerate(plan.escalation_policy):
        resends = sum(1 for step in policy.steps if step.action == "resend_sms") * (1 + policy.repeat)
        most = 2 + resends
        if most > limit:
            explicit = config.per_number_per_day is not None
            where = (*base, "per_number_per_day") if explicit else ("escalation_policy", pi)
            report(where, f"level {policy.level} can send one number {most} SMS, over the "
                   f"{limit} a day gateway {base[-1]!r} lets through (isv.BUSINESS_LIMIT_CONTROL)", Severity.ERROR)
