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
    stand_in: bool = False
    """No shift on the rota names anyone who is in the roster: the officer is the plan's stand-in (duty.fallback)."""


def load_rota(ctx: Context) -> DutyRota:
    return ctx.rota()


def on_duty(rota: DutyRota | None, roster: Roster, when: datetime, stand_in: str | None = None) -> OnDuty:
    """The rota's officer at ``when``, else the plan's stand-in (``stand_in``: its duty.fallback), as ``alert raise``
    and escalation use them: outside the flood season the rota is empty and the stand-in is on duty. ``rota`` None:
    the rota cannot be read (a broken rota must not stop an alert)."""
    shift = rota.on_duty(when) if rota is not None else None
    officer = roster.get(shift.person) if shift else None
    if officer is None and stand_in and roster.get(stand_in) is not None:
        return OnDuty(when, shift, roster.get(stand_in), None, stand_in=True)
    if shift is None:
        return OnDuty(when, None, None, None)
    return OnDuty(when, shift, officer, roster.get(shift.deputy) if shift.deputy else None)


def duty_officer(ctx: Context, roster: Roster, plan: Plan) -> Person | None:
    """The rota's duty officer now, else the plan's stand-in; a broken rota must not stop an alert."""
    try:
        rota: DutyRota | None = load_rota(ctx)
    except InputError:
        rota = None
    return on_duty(rota, roster, ctx.clock.now(), plan.duty.fallback).officer
