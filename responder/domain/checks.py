"""Cross-checks of the plan, the roster and the duty rota together.

The models validate each file on its own; here we find what only shows when they meet: a group
in the matrix that does not exist, a group nobody leads, a person nobody calls.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from responder.domain.cap_checks import check_cap
from responder.domain.errors import Problem, Severity
from responder.domain.plan import TEMPLATE_FIELDS, LocalText, Plan, contains_url, template_fields
from responder.domain.roster import DutyRota, Roster
from responder.domain.route_checks import check_messaging
from responder.domain.rules import (
    DamBreakRule,
    DrinkingWaterRule,
    DryDaysRule,
    ReservoirStorageRule,
    WaterLevelRule,
)
from responder.domain.types import LEVELS, Role

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Sources:
    """Where things came from, so that each problem can name a file and a line."""

    plan_file: str = "config/plan.yaml"
    plan_lines: Mapping[Path, int] = field(default_factory=dict)
    roster_file: str = "contacts/roster.csv"
    roster_lines: Mapping[str, int] = field(default_factory=dict)
    rota_file: str = "contacts/duty-rota.csv"

    def plan_line(self, path: Path) -> int | None:
        """The line of ``path`` or of its nearest ancestor that has one."""
        while path:
            if path in self.plan_lines:
                return self.plan_lines[path]
            path = path[:-1]
        return None


def dotted(path: Path) -> str:
    return ".".join(str(p) for p in path)


class _Collector:
    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.problems: list[Problem] = []

    def plan(self, path: Path, message: str, severity: Severity = Severity.ERROR) -> None:
        self.problems.append(
            Problem(message, self.sources.plan_file, self.sources.plan_line(path), dotted(path), severity)
        )

    def roster(self, person_id: str, fld: str, message: str, severity: Severity = Severity.ERROR) -> None:
        line = self.sources.roster_lines.get(person_id)
        self.problems.append(Problem(message, self.sources.roster_file, line, fld, severity))

    def rota(self, line: int | None, fld: str, message: str, severity: Severity = Severity.ERROR) -> None:
        self.problems.append(Problem(message, self.sources.rota_file, line, fld, severity))


def check_all(
    plan: Plan,
    roster: Roster,
    rota: DutyRota | None,
    now: datetime,
    sources: Sources | None = None,
) -> list[Problem]:
    """Every problem found, errors first; an empty list means the plan is ready to use."""
    out = _Collector(sources or Sources())
    _check_plan(plan, out)
    _check_templates(plan, out)
    _check_roster(plan, roster, out)
    _check_references(plan, roster, out)
    _check_stations(plan, out)
    check_cap(plan, out.plan)
    check_messaging(plan, out.plan)
    if rota is not None:
        _check_rota(plan, roster, rota, now, out)
    return sorted(out.problems, key=lambda p: (p.severity != Severity.ERROR, p.file or "", p.line or 0))


def check_plan_in_force(plan: Plan, roster: Roster | None, sources: Sources | None = None) -> list[Problem]:
    """What every command that acts on the plan checks first: the plan's own problems and its references to people
    (``roster``: the roster in force; None when there is none yet). The roster's rows and the rota are the files'
    own business (``contacts import``, ``plan check``): a rota gap next month must not stop tonight's alert; so is
    a role of a group left empty (a demotion in the roster)."""
    out = _Collector(sources or Sources())
    _check_plan(plan, out)
    _check_templates(plan, out)
    _check_stations(plan, out)
    check_messaging(plan, out.plan)
    if roster is not None:
        _check_references(plan, roster, out, coverage=False)
    return sorted(out.problems, key=lambda p: (p.severity != Severity.ERROR, p.file or "", p.line or 0))


def _check_plan(plan: Plan, out: _Collector) -> None:
    for kind, ids in (("group", [g.id for g in plan.groups]), ("hazard", [h.id for h in plan.hazards]),
                      ("escalation_chain", [s.id for s in plan.escalation_chain])):
        for dup, n in Counter(ids).items():
            if n > 1:
                out.plan((kind + "s" if kind != "escalation_chain" else kind,), f"{kind} id {dup!r} appears {n} times")
    chain_ids = {s.id for s in plan.escalation_chain}
    for hi, hazard in enumerate(plan.hazards):
        defined = {c.level for c in hazard.callout}
        for level in LEVELS:
            if level not in defined:
                out.plan(("hazards", hi, "callout"), f"hazard {hazard.id!r} calls nobody at level {level}",
                         Severity.WARNING)
        for ci, callout in enumerate(hazard.callout):
            for gi, entry in enumerate(callout.groups):
                if entry.group not in plan.group_ids:
                    out.plan(("hazards", hi, "callout", ci, "groups", gi, "group"),
                             f"unknown group {entry.group!r} in the call-out matrix "
                             f"(known: {', '.join(sorted(plan.group_ids))})")
            for ii, step in enumerate(callout.inform):
                if step not in chain_ids:
                    out.plan(("hazards", hi, "callout", ci, "inform", ii), f"unknown escalation_chain step {step!r}")
    for pi, policy in enumerate(plan.escalation_policy):
        for si, esc in enumerate(policy.steps):
            if esc.chain_step and esc.chain_step not in chain_ids:
                out.plan(("escalation_policy", pi, "steps", si, "chain_step"),
                         f"unknown escalation_chain step {esc.chain_step!r}")
    for ti, team in enumerate(plan.resources.teams):
        if team.group and team.group not in plan.group_ids:
            out.plan(("resources", "teams", ti, "group"), f"unknown group {team.group!r}")
    for si, rung in enumerate(plan.escalation_chain):
        for ti, target in enumerate(rung.targets):
            if target.group and target.group not in plan.group_ids:
                out.plan(("escalation_chain", si, "targets", ti, "group"), f"unknown group {target.group!r}")


def _texts(plan: Plan) -> Iterator[tuple[Path, LocalText]]:
    t = plan.templates
    for level in LEVELS:
        if level in t.callout:
            yield ("templates", "callout", level), t.callout[level]
    for name in type(t).model_fields:
        if name not in ("callout", "broadcast"):
            yield ("templates", name), getattr(t, name)
    if t.broadcast is not None:
        for part in type(t.broadcast).model_fields:
            yield ("templates", "broadcast", part), getattr(t.broadcast, part)


def _check_templates(plan: Plan, out: _Collector) -> None:
    for level in LEVELS:
        if level not in plan.templates.callout:
            out.plan(("templates", "callout"), f"level {level} has no call-out template")
    no_url_prefixes = [lim.prefix for lim in plan.sms.limits if not lim.allow_urls]
    for path, text in _texts(plan):
        for lang in plan.languages:
            if not text.get(lang, "").strip():
                out.plan(path, f"no template in language {lang!r}")
        for lang, template in text.items():
            if lang not in plan.languages:
                out.plan((*path, lang), f"language {lang!r} is not one of the plan's languages {plan.languages}",
                         Severity.WARNING)
            try:
                unknown = template_fields(template) - TEMPLATE_FIELDS
            except ValueError as exc:
                out.plan((*path, lang), f"broken template: {exc}")
                continue
            if unknown:
                out.plan((*path, lang), f"unknown placeholder(s) {', '.join('{' + u + '}' for u in sorted(unknown))}")
            if no_url_prefixes and contains_url(template):
                out.plan((*path, lang), f"contains a URL, not allowed for {', '.join(no_url_prefixes)} numbers")
    _check_broadcast(plan, out)
    for lang, marker in plan.sms.drill_marker.items():
        if not marker.strip():
            out.plan(("sms", "drill_marker", lang), "the drill marker must not be empty")
    for lang in plan.languages:
        if lang not in plan.sms.drill_marker:
            out.plan(("sms", "drill_marker"), f"no drill marker in language {lang!r}")


def _check_broadcast(plan: Plan, out: _Collector) -> None:
    """The loudspeaker script needs the advice of every level it may be read at, in every language."""
    if plan.templates.broadcast is None:
        out.plan(("templates",), "no broadcast template: `alert broadcast` cannot write the loudspeaker script",
                 Severity.WARNING)
        return
    for hi, hazard in enumerate(plan.hazards):
        for ci, callout in enumerate(hazard.callout):
            for lang in plan.languages:
                if not callout.advice.get(lang, "").strip():
                    out.plan(("hazards", hi, "callout", ci, "advice"),
                             f"no advice for residents in {lang!r} at {hazard.id} level {callout.level}: "
                             "the loudspeaker script would not say what to do")


def _check_roster(plan: Plan, roster: Roster, out: _Collector) -> None:
    for pid, n in Counter(p.id for p in roster.people).items():
        if n > 1:
            out.roster(pid, "id", f"duplicate id {pid!r} ({n} rows)")
    phones: dict[str, str] = {}
    for person in roster.people:
        if person.phone in phones and phones[person.phone] != person.id:
            out.roster(person.id, "phone", f"phone {person.phone} is also {phones[person.phone]!r}'s")
        phones.setdefault(person.phone, person.id)
        if person.language not in plan.languages:
            out.roster(person.id, "language",
                       f"{person.id}: language {person.language!r} is not one of the plan's {plan.languages}")
        if not person.memberships:
            out.roster(person.id, "groups", f"{person.id} ({person.name}) is in no group: nobody will call them",
                       Severity.WARNING)
        for m in person.memberships:
            if m.group not in plan.group_ids:
                out.roster(person.id, "groups", f"{person.id}: unknown group {m.group!r}")
    for gi, group in enumerate(plan.groups):
        if not roster.members(group.id, [Role.LEADER]):
            out.plan(("groups", gi), f"group {group.id!r} has no leader in the roster")
        if not roster.members(group.id, [Role.DEPUTY]):
            out.plan(("groups", gi), f"group {group.id!r} has no deputy in the roster: escalation stops at the leader",
                     Severity.WARNING)


def _check_references(plan: Plan, roster: Roster, out: _Collector, coverage: bool = True) -> None:
    """Every person the plan names is in the roster; ``coverage``: every role of a group it names is filled too
    (the roster's state rather than the plan's: ``plan check`` reports it, a demotion in the roster does not stop
    an alert or an import)."""

    def known(pid: str, path: Path) -> None:
        if roster.get(pid) is None:
            out.plan(path, f"unknown person {pid!r} (not in the roster)")

    for si, step in enumerate(plan.escalation_chain):
        for ti, target in enumerate(step.targets):
            if target.person:
                known(target.person, ("escalation_chain", si, "targets", ti, "person"))
            elif coverage and target.group and target.role and target.group in plan.group_ids \
                    and not roster.members(target.group, [target.role]):
                out.plan(("escalation_chain", si, "targets", ti),
                         f"nobody is {target.role.value} of {target.group!r}")
    if plan.duty.fallback:
        known(plan.duty.fallback, ("duty", "fallback"))
    for zi, zone in enumerate(plan.evacuation_zones):
        known(zone.responsible, ("evacuation_zones", zi, "responsible"))
        for hi, helper in enumerate(zone.helpers):
            known(helper, ("evacuation_zones", zi, "helpers", hi))


def _check_stations(plan: Plan, out: _Collector) -> None:
    """Feeds, stations and rules refer to each other by id: every reference must hold and fit."""
    for key, ids in (("feeds", [f.id for f in plan.feeds]), ("stations", [s.id for s in plan.stations]),
                     ("rules", [r.id for r in plan.rules])):
        for dup, n in Counter(ids).items():
            if n > 1:
                out.plan((key,), f"{key[:-1]} id {dup!r} appears {n} times")
    feeds = {f.id: f for f in plan.feeds}
    stations = {s.id: s for s in plan.stations}
    sources: dict[tuple[str, str, str], str] = {}
    for si, station in enumerate(plan.stations):
        if station.feed is not None and station.feed not in feeds:
            out.plan(("stations", si, "feed"), f"unknown feed {station.feed!r} "
                                              f"(known: {', '.join(sorted(feeds)) or 'none'})")
        for quantity in station.measured if station.feed is not None else ():
            other = sources.setdefault((station.feed or "", station.source, quantity), station.id)
            if other != station.id:
                out.plan(("stations", si, "source_id"),
                         f"stations {other!r} and {station.id!r} both read {quantity} of {station.source!r} "
                         f"from feed {station.feed!r}")
                break
    hazard_ids = {h.id for h in plan.hazards}
    dry_thresholds = {r.dry_below_mm for r in plan.rules if isinstance(r, DryDaysRule)}
    if len(dry_thresholds) > 1:
        out.plan(("rules",), f"all drought_dry_days rules must use the same dry_below_mm (found "
                             f"{', '.join(f'{t:g}' for t in sorted(dry_thresholds))})")
    for ri, rule in enumerate(plan.rules):
        if rule.hazard not in hazard_ids:
            out.plan(("rules", ri, "hazard"),
                     f"unknown hazard {rule.hazard!r} (known: {', '.join(sorted(hazard_ids))})")
        if isinstance(rule, DrinkingWaterRule):
            continue
        kinds = " or ".join(sorted(rule.applies_to))
        if rule.stations == "all":
            if not isinstance(rule, DamBreakRule) and not any(s.kind in rule.applies_to for s in plan.stations):
                out.plan(("rules", ri, "stations"), f"rule {rule.id!r} applies to every {kinds} station, "
                                                    "but there is none", Severity.WARNING)
            continue
        for xi, sid in enumerate(rule.stations):
            path: Path = ("rules", ri, "stations", xi)
            target = stations.get(sid)
            if target is None:
                out.plan(path, f"unknown station {sid!r} in rule {rule.id!r}")
            elif target.kind not in rule.applies_to:
                out.plan(path, f"rule {rule.id!r} ({rule.kind}) needs a {kinds} station; {sid!r} is a {target.kind}")
            elif isinstance(rule, WaterLevelRule) and target.warning_level is None:
                out.plan(path, f"station {sid!r} has no warning_level for rule {rule.id!r}")
            elif isinstance(rule, WaterLevelRule) and rule.at_guaranteed and target.guaranteed_level is None:
                out.plan(path, f"station {sid!r} has no guaranteed_level: at_guaranteed in {rule.id!r} never fires",
                         Severity.WARNING)
            elif isinstance(rule, ReservoirStorageRule) and target.capacity is None \
                    and not target.measures("storage_pct"):
                out.plan(path, f"station {sid!r} needs a capacity (or storage_pct readings) for rule {rule.id!r}")
            elif isinstance(rule, DamBreakRule) and not target.measures("dam_break"):
                out.plan(path, f"station {sid!r} does not measure dam_break: add it to its quantities",
                         Severity.WARNING)


def season_window(plan: Plan, now: datetime) -> tuple[datetime, datetime]:
    """The current flood season, or the next one if this year's is over (aware UTC bounds)."""
    zone = plan.area.zone
    local = now.astimezone(zone)
    first, last = plan.duty.season.dates(local.year)
    if local.date() > last:
        first, last = plan.duty.season.dates(local.year + 1)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    return start.astimezone(now.tzinfo), end.astimezone(now.tzinfo)


def _check_rota(plan: Plan, roster: Roster, rota: DutyRota, now: datetime, out: _Collector) -> None:
    for shift in rota.shifts:
        if roster.get(shift.person) is None:
            out.rota(shift.line, "person", f"unknown person {shift.person!r}")
        if shift.deputy and roster.get(shift.deputy) is None:
            out.rota(shift.line, "deputy", f"unknown person {shift.deputy!r}")
    start, end = season_window(plan, now)
    start = max(start, now) if start < now < end else start
    zone = plan.area.zone
    fmt: Callable[[datetime], str] = lambda d: d.astimezone(zone).strftime("%Y-%m-%d %H:%M")  # noqa: E731
    for gap_start, gap_end in rota.gaps(start, end):
        out.rota(_line_by_gap(rota, gap_start, gap_end), "from/to",
                 f"no duty officer from {fmt(gap_start)} to {fmt(gap_end)} "
                 f"({plan.duty.season.name.get(plan.default_language, 'flood season')} must be covered every hour)")


def _line_by_gap(rota: DutyRota, start: datetime, end: datetime) -> int | None:
    """The rota line next to a gap: the shift ending where it starts, else the one starting where it ends."""
    before = [s for s in rota.shifts if s.end <= start]
    after = [s for s in rota.shifts if s.start >= end]
    nearest = [max(before, key=lambda s: s.end)] if before else []
    nearest += [min(after, key=lambda s: s.start)] if after else []
    nearest.sort(key=lambda s: min(abs(s.end - start), abs(s.start - end)))
    return nearest[0].line if nearest else None
