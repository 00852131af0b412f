"""The one message renderer: preview, send and report all go through :func:`render`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from responder.domain.plan import LocalText, Plan, contains_url, pick, template_fields
from responder.domain.sms import Segments, count_segments


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class IncidentFacts:
    """What a message may say about an incident."""

    code: str
    hazard: str
    level: int
    reason: str
    is_drill: bool = False
    old_level: int | None = None


@dataclass(frozen=True)
class Task:
    """One group's task for one person at one level."""

    group: str
    task: LocalText
    report_to: LocalText


@dataclass(frozen=True)
class Rendered:
    text: str
    language: str
    segments: Segments
    warnings: tuple[str, ...] = ()


def template_for(plan: Plan, kind: str, level: int) -> LocalText:
    if kind == "callout":
        return plan.templates.callout[level]
    value = getattr(plan.templates, kind)
    assert isinstance(value, dict)
    return value


@dataclass(frozen=True)
class Composed:
    """A message's text and the field values it was filled with: a provider that sends approved templates only
    (Alibaba Cloud) fills its template parameters from these, in the adapter."""

    text: str
    fields: dict[str, str]
    language: str = ""
    redo: Callable[[str], Composed] | None = field(default=None, compare=False, repr=False)
    """The same message composed in another language: a provider whose templates are registered in one language
    gets its parameters in that language, whatever the person's."""

    def in_language(self, language: str) -> Composed:
        return self if language == self.language or self.redo is None else self.redo(language)


def render(
    plan: Plan,
    kind: str | LocalText,
    language: str,
    facts: IncidentFacts,
    tasks: Sequence[Task] = (),
    extras: Mapping[str, str] | None = None,
    when: datetime | None = None,
) -> str:
    """Fill the plan's template of ``kind`` in ``language`` (falling back to the plan's first language).

    ``kind`` names a template of ``plan.templates``, or is a template itself in several languages (the public
    CAP warning's headline, description and instruction), filled the same way.
    """
    return compose(plan, kind, language, facts, tasks, extras, when).text


def compose(
    plan: Plan,
    kind: str | LocalText,
    language: str,
    facts: IncidentFacts,
    tasks: Sequence[Task] = (),
    extras: Mapping[str, str] | None = None,
    when: datetime | None = None,
) -> Composed:
    """:func:`render`, with the values of the fields it filled."""
    texts = template_for(plan, kind, facts.level) if isinstance(kind, str) else kind
    lang = language if language in plan.languages else plan.default_language
    level = plan.level(facts.level)
    hazard = plan.hazard(facts.hazard)
    sep = "；" if lang == "zh" else "; "
    colon = "：" if lang == "zh" else ": "
    def say(text: LocalText) -> str:
        return pick(text, lang, plan.default_language)

    if len(tasks) == 1:
        task_text = say(tasks[0].task)
    else:
        task_text = sep.join(say(plan.group(t.group).name) + colon + say(t.task) for t in tasks)
    report_to = sep.join(dict.fromkeys(pick(t.report_to, lang, plan.default_language) for t in tasks))
    values = _Blank(
        drill=pick(plan.sms.drill_marker, lang, plan.default_language) if facts.is_drill else "",
        area=pick(plan.area.name, lang, plan.default_language),
        level=str(facts.level),
        old_level=str(facts.old_level or ""),
        level_name=pick(level.name, lang, plan.default_language),
        colour=pick(level.colour_name, lang, plan.default_language),
        hazard=pick(hazard.name, lang, plan.default_language) if hazard else facts.hazard,
        reason=facts.reason,
        group=("、" if lang == "zh" else ", ").join(
            pick(plan.group(t.group).name, lang, plan.default_language) for t in tasks),
        task=task_text,
        report_to=report_to,
        code=facts.code,
        time=when.astimezone(plan.area.zone).strftime("%m-%d %H:%M") if when else "",
    )
    values.update(extras or {})
    template = pick(texts, lang, plan.default_language)
    text = template.format_map(values).strip()
    if facts.is_drill and "drill" not in template_fields(template):
        text = values["drill"] + text  # a drill is always marked, even where a template forgot {drill}
    return Composed(text, dict(values), lang,
                    lambda other: compose(plan, kind, other, facts, tasks, extras, when))


def assess(plan: Plan, phone: str, text: str, language: str) -> Rendered:
    """Segment count and every limit the plan sets for this number (e.g. +86: no URLs, ≤ 500 chars)."""
    limit = plan.sms.limit_for(phone)
    numbers = f"{limit.prefix} numbers" if limit in plan.sms.limits else "any number (sms.default_max_chars)"
    warnings = []
    if len(text) > limit.max_chars:
        warnings.append(f"{len(text)} characters, over the {limit.max_chars} allowed for {numbers}")
    if not limit.allow_urls and contains_url(text):
        warnings.append(f"contains a URL, not allowed for {numbers}")
    return Rendered(text, language, count_segments(text), tuple(warnings))
