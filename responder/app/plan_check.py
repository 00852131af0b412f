"""``plan check``: the plan, the roster file and the rota validated together."""

from __future__ import annotations

from dataclasses import dataclass, field

from responder.app.ports import Context
from responder.configfiles.roster_csv import validate_roster_file
from responder.configfiles.rota_csv import read_rota
from responder.domain.checks import Sources, check_all
from responder.domain.errors import InputError, Problem, Severity
from responder.domain.plan import Plan
from responder.domain.roster import DutyRota


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    plan: Plan | None = None
    people: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == Severity.WARNING]


def check_plan(ctx: Context) -> CheckReport:
    report = CheckReport()
    try:
        plan_file = ctx.plan_file
    except InputError as exc:
        report.problems.extend(exc.problems)
        return report
    plan = report.plan = plan_file.plan
    roster_path = ctx.settings.roster_file
    try:
        roster_file = validate_roster_file(roster_path, plan)
    except InputError as exc:
        report.problems.extend(exc.problems)
        return report
    report.problems.extend(roster_file.problems)
    report.people = len(roster_file.roster.people)
    rota_path = ctx.resolve(plan.duty.rota_file)
    rota: DutyRota | None = None
    try:
        rota = read_rota(rota_path, plan.area.zone)
    except InputError as exc:
        report.problems.extend(exc.problems)
    sources = Sources(plan_file_name(ctx), plan_file.lines, str(roster_path), roster_file.lines, str(rota_path))
    # The roster file's own checks already named a row's unknown group or language: say it once.
    located = {(p.file, p.line, p.field) for p in report.problems}
    report.problems.extend(p for p in check_all(plan, roster_file.roster, rota, ctx.clock.now(), sources)
                           if (p.file, p.line, p.field) not in located)
    return report


def plan_file_name(ctx: Context) -> str:
    return str(ctx.settings.plan_file)
