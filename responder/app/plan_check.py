"""``plan check``: the plan, the roster file and the rota validated together."""

from __future__ import annotations

from dataclasses import dataclass, field

from responder.app.ports import Context
from responder.configfiles.roster_csv import validate_roster_file
from responder.configfiles.rota_csv import read_rota
from responder.domain.checks import Sources, check_all, dotted
from responder.domain.errors import InputError, Problem, Severity
from responder.domain.plan import Plan
from responder.domain.roster import DutyRota
from responder.gateways.factory import missing_credentials, missing_robot_webhooks
from responder.settings import Settings


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
    report.problems.extend(credential_problems(ctx.settings, plan, sources))
    return report


def credential_problems(settings: Settings, plan: Plan, sources: Sources) -> list[Problem]:
    """A route to a gateway whose credentials the settings lack, a robot without its webhook: located at the plan's
    gateway (or robot), naming the settings to set. Nothing could be sent through them."""
    messaging = plan.messaging
    if messaging is None:
        return []
    problems = []
    for ri, route in enumerate(messaging.routes):
        for channel in ("sms", "voice"):
            name = getattr(route, channel)
            if name is None or name not in messaging.gateways:
                continue  # an unknown gateway is the plan's own error
            for missing in missing_credentials(settings, messaging.gateways[name].provider):
                path: tuple[str | int, ...] = ("messaging", "routes", ri, channel)
                problems.append(Problem(f"route {route.prefix} sends {channel} through {name!r} "
                                        f"({messaging.gateways[name].provider}), whose credentials are missing: "
                                        f"set {missing}", sources.plan_file, sources.plan_line(path), dotted(path)))
    for name in missing_robot_webhooks(settings, messaging):
        path = ("messaging", "robots", name)
        problems.append(Problem(f"robot {name!r} has no webhook address: set it in RESPONDER_ROBOT_WEBHOOKS",
                                sources.plan_file, sources.plan_line(path), dotted(path)))
    return problems


def plan_file_name(ctx: Context) -> str:
    return str(ctx.settings.plan_file)
