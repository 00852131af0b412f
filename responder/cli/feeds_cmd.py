"""``responder feeds`` and ``responder reading``: data from gauges and duty staff."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from responder.cli.common import app_context, console, dump_json, local_time, new_app

if TYPE_CHECKING:
    from responder.app.feed_cycle import CycleReport

app = new_app("Rainfall and water-level feeds: check now, quarantined rows.")
reading_app = new_app("Readings and reports typed in by duty staff.")


def _print_cycle(report: CycleReport) -> None:
    from responder.cli.tables import Table
    from responder.domain.types import format_duration

    ctx = app_context()
    plan = ctx.plan
    out = console()
    if report.feeds:
        feeds = Table("feed", "status", "new", "duplicates", "conflicts", "quarantined", "missing",
                      "unknown parameters", title="Feeds")
        for f in report.feeds:
            status = "[green]ok[/green]" if f.ok else f"[red]error[/red]: {f.error}"
            unknown = ", ".join(f"{code} ×{n}" for code, n in sorted(f.unknown_parameters.items())) or "—"
            feeds.add_row(f.feed, status, str(f.inserted), str(f.duplicates), str(f.conflicts), str(f.rejected),
                          str(f.missing), unknown)
        out.print(feeds)
    by_station: dict[str, list[str]] = {}
    for o in report.outcomes:
        if o.station:
            by_station.setdefault(o.station, []).append(f"{o.rule}: {'L' + str(o.level) if o.level else '—'}")
    windows = sorted({w for s in report.snapshots.values() for w in s.totals})
    table = Table("station", "latest", "time", *[f"rain {format_duration(w)}" for w in windows], "rise m/h",
                  "margin m", "dry days", "storage %", "rules", "stale", title=f"Stations at {local_time(report.at)}")
    for station in plan.stations:
        snap = report.snapshots.get(station.id)
        if snap is None:
            continue
        value = "—" if snap.value is None else f"{snap.value:g} {station.unit_for(snap.quantity)}"
        cells = [f"{snap.totals[w]:.1f}" if w in snap.totals else "" for w in windows]
        table.add_row(station.id, value, local_time(snap.time, "%m-%d %H:%M"), *cells,
                      "" if snap.rate_of_rise is None else f"{snap.rate_of_rise:+.2f}",
                      "" if snap.margin is None else f"{snap.margin:+.2f}",
                      "" if snap.dry_days is None else str(snap.dry_days),
                      "" if snap.storage_pct is None else f"{snap.storage_pct:.0f}",
                      "\n".join(by_station.get(station.id, [])),
                      "[red]STALE[/red]" if snap.stale else "ok")
    out.print(table)
    others = [o for o in report.outcomes if not o.station]
    for o in others:
        out.print(f"{o.rule} ({o.hazard}): {'level ' + str(o.level) if o.level else 'nothing'}")
    for p in report.proposals:
        verb = "declared" if p.status in ("declared", "confirmed") else "proposed"
        out.print(f"[bold]P{p.proposal_id}[/bold] {verb}: {p.action} level {p.level}"
                  + (" — confirm with `responder alert confirm P" + str(p.proposal_id) + "`" if verb == "proposed"
                     else ""))
    for alarm in report.alarms:
        out.print(f"[yellow]alarm[/yellow]: {alarm}")


@app.command("check", help="Run one feed cycle now: read, store, evaluate rules; a table per station.")
def check(
    feed: Annotated[list[str] | None, typer.Option("--feed", help="Only this feed (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    from responder.app.feed_cycle import run_cycle

    ctx = app_context()
    ctx.require_schema()
    report = run_cycle(ctx, feed)
    if as_json:
        dump_json({
            "at": report.at,
            "feeds": [f.__dict__ for f in report.feeds],
            "stations": {sid: {"value": s.value, "time": s.time, "stale": s.stale, "margin": s.margin,
                               "rate_of_rise": s.rate_of_rise, "dry_days": s.dry_days, "storage_pct": s.storage_pct,
                               "totals": {str(int(w.total_seconds())): v for w, v in s.totals.items()}}
                         for sid, s in report.snapshots.items()},
            "rules": [{"rule": o.rule, "hazard": o.hazard, "station": o.station, "level": o.level,
                       "evidence": dict(o.evidence)} for o in report.outcomes],
            "proposals": [p.__dict__ for p in report.proposals],
            "alarms": report.alarms,
        })
    else:
        _print_cycle(report)
    if any(not f.ok for f in report.feeds):
        raise typer.Exit(1)  # the other feeds were read and the rules ran; this says one feed needs a look


@app.command("quarantine", help="Rows that were refused (not a number, out of bounds, unknown station, ...).")
def quarantine(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    feed: Annotated[str | None, typer.Option("--feed", help="Only this feed.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    from responder.cli.tables import Table
    from responder.storage.readings_repo import quarantined

    ctx = app_context()
    ctx.require_schema()
    with ctx.sessions() as session:
        rows = quarantined(session, limit, feed)
    if as_json:
        dump_json([{"feed": r.feed, "station": r.station, "reason": r.reason, "raw": r.raw, "location": r.location,
                    "first_seen": r.at, "last_seen": r.last_seen_at, "times": r.times_seen} for r in rows])
        return
    table = Table("feed", "station", "where", "reason", "row", "seen", title=f"{len(rows)} quarantined rows")
    for r in rows:
        table.add_row(r.feed, r.station or "?", r.location or "", r.reason, r.raw[:60],
                      f"{r.times_seen}× last {local_time(r.last_seen_at, '%m-%d %H:%M')}")
    console().print(table)


@reading_app.command("add", help="Record a reading by hand (e.g. a staff gauge read by duty staff), then check rules.")
def add(
    station: Annotated[str, typer.Argument(help="Station id from the plan.")],
    value: Annotated[str, typer.Argument(help="The value in the station's unit (m for stage, mm for rain): ASCII "
                                              "digits, at most one point (15, 15.2, -0.5).")],
    time: Annotated[str | None, typer.Option("--time", help="When it was read (local time; default now).")] = None,
    quantity: Annotated[str | None, typer.Option("--quantity", help="e.g. stage_m, rain_mm (default: the "
                                                                    "station's main one).")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who read it.")] = None,
) -> None:
    from responder.app.feed_cycle import add_reading
    from responder.cli.alert_cmd import _by
    from responder.configfiles.rota_csv import parse_local_time
    from responder.domain.errors import InputError, Problem

    ctx = app_context()
    ctx.require_schema()
    when = None
    if time:
        try:
            when = parse_local_time(time, ctx.plan.area.zone)
        except ValueError as exc:
            raise InputError(Problem(str(exc), field="--time")) from None
    _print_cycle(add_reading(ctx, station, value, when, _by(by), quantity))


@reading_app.command("report", help="Report an upstream dam break (dam_break) or people short of drinking water "
                                    "(drinking_water, VALUE = how many people).")
def report(
    kind: Annotated[str, typer.Argument(help="dam_break or drinking_water.")],
    value: Annotated[str | None, typer.Option("--value", help="dam_break: 1 (0 clears); drinking_water: people.")]
    = None,
    station: Annotated[str | None, typer.Option("--station", help="Station or dam concerned.")] = None,
    place: Annotated[str, typer.Option("--place", help="Village or dam.")] = "",
    note: Annotated[str, typer.Option("--note", help="What was said.")] = "",
    by: Annotated[str | None, typer.Option("--by", help="Who reports.")] = None,
) -> None:
    from responder.app.feed_cycle import manual_report
    from responder.cli.alert_cmd import _by

    ctx = app_context()
    ctx.require_schema()
    _print_cycle(manual_report(ctx, kind, station, value, _by(by), place, note))
