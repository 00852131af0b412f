"""Who is the duty officer now (值班员), and their deputy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from responder.app.ports import Context
from responder.domain.errors import InputError
from responder.domain.plan import Plan
from responder.domain.roster import DutyRota, Person, Roster, Shift


@dataclass(frozen=True)
class OnDuty:
    at: datetime
    shift: Shift | None
    officer: Person | None
    deputy: Person | None


def load_rota(ctx: Context) -> DutyRota:
    return ctx.rota()


def on_duty(rota: DutyRota, roster: Roster, when: datetime) -> OnDuty:
    shift = rota.on_duty(when)
    if shift is None:
        return OnDuty(when, None, None, None)
    return OnDuty(when, shift, roster.get(shift.person), roster.get(shift.deputy) if shift.deputy else None)


def duty_officer(ctx: Context, roster: Roster, plan: Plan) -> Person | None:
    """The rota's duty officer now, else the plan's stand-in; a broken rota must not stop an alert."""
    try:
        shift = load_rota(ctx).on_duty(ctx.clock.now())
    except InputError:
        shift = None
    person = roster.get(shift.person) if shift else None
    if person is None and plan.duty.fallback:
        person = roster.get(plan.duty.fallback)
    return person
