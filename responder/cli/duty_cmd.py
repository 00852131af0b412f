"""``responder duty``: the duty rota."""

from __future__ import annotations

from typing import Annotated

import typer

from responder.cli.common import app_context, console, dump_json, local_time, new_app

app = new_app("The duty rota (contacts/duty-rota.csv).")


@app.command("now", help="Show who is the duty officer now, and their deputy.")
def now(
    at: Annotated[str | None, typer.Option("--at", help="Another time (local, e.g. '2027-07-01 09:00').")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    from responder.app.contacts import roster_in_force
    from responder.app.duty import load_rota, on_duty
    from responder.configfiles.rota_csv import parse_local_time
    from responder.domain.errors import InputError, Problem

    ctx = app_context()
    when = ctx.clock.now()
    if at:
        try:
            when = parse_local_time(at, ctx.plan.area.zone)
        except ValueError as exc:
            raise InputError(Problem(str(exc), field="--at")) from None
    duty = on_duty(load_rota(ctx), roster_in_force(ctx), when, ctx.plan.duty.fallback)
    if as_json:
        dump_json({"at": duty.at, "officer": duty.officer.to_dict() if duty.officer else None,
                   "deputy": duty.deputy.to_dict() if duty.deputy else None, "stand_in": duty.stand_in,
                   "shift": {"from": duty.shift.start, "to": duty.shift.end} if duty.shift else None})
        return
    out = console()
    if duty.officer is not None and duty.stand_in:
        officer = f"{duty.officer.name} ({duty.officer.id}) {duty.officer.phone}"
        out.print(f"duty officer at {local_time(when)}: [bold]{officer}[/bold], the plan's stand-in (duty.fallback): "
                  "no shift on the rota names anyone then")
        return
    if duty.shift is None:
        out.print(f"[red]nobody is on duty at {local_time(when)}[/red] (check the rota)")
        raise typer.Exit(1)
    officer = f"{duty.officer.name} ({duty.officer.id}) {duty.officer.phone}" if duty.officer else duty.shift.person
    out.print(f"duty officer at {local_time(when)}: [bold]{officer}[/bold]")
    out.print(f"shift: {local_time(duty.shift.start)} → {local_time(duty.shift.end)}")
    if duty.deputy:
        out.print(f"deputy: {duty.deputy.name} ({duty.deputy.id}) {duty.deputy.phone}")
    else:
        out.print("deputy: none named on the rota")
