"""``responder alert``: raise, upgrade, downgrade, end, and watch an incident."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from responder.cli.common import app_context, console, dump_json, local_time, new_app

if TYPE_CHECKING:
    from responder.app.alerts import Outcome, Preview
    from responder.gateways.base import Gateway

app = new_app("Alerts (incidents): raise, change level, stand down, status and timeline.")

Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
NoSend = Annotated[bool, typer.Option("--no-send", help="Only queue the messages; a `responder dispatch` worker "
                                                       "sends them.")]
By = Annotated[str | None, typer.Option("--by", help="Who decides (default: the duty officer on the rota).")]
Reason = Annotated[str, typer.Option("--reason", "-r", help="Why: what happened, which reading. Goes into the SMS.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


def _by(name: str | None) -> str:
    if name:
        from responder.domain.entry import MAX_BY, check_text

        return check_text(name, "--by", MAX_BY, what="--by") or _by(None)
    from responder.app.contacts import roster_in_force
    from responder.app.duty import duty_officer

    ctx = app_context()
    officer = duty_officer(ctx, roster_in_force(ctx), ctx.plan)
    import getpass

    return f"{officer.name} ({officer.id})" if officer else getpass.getuser()


def _print_preview(preview: Preview) -> None:
    from responder.cli.common import text
    from responder.cli.tables import Table

    plan = app_context().plan
    out = console()
    level = plan.level(preview.level)
    out.print(f"[bold]{preview.hazard} level {preview.level} ({text(level.colour_name)})[/bold]: "
              f"{preview.people} people in {len(preview.groups)} groups will be called")
    groups = Table("group", "people")
    for gid, count in preview.groups.items():
        groups.add_row(f"{text(plan.group(gid).name)} ({gid})", str(count))
    out.print(groups)
    texts = Table("kind", "lang", "to", "segments", "text", show_lines=True)
    for t in preview.texts:
        seg = f"{t.segments.segments} × {t.segments.encoding} ({t.segments.chars} chars)"
        warn = "".join(f"\n[red]⚠ {w}[/red]" for w in t.warnings)
        texts.add_row(t.kind, t.language, str(t.recipients), seg, t.text + warn)
    out.print(texts)


def _confirm(yes: bool, question: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        console(stderr=True).print("[red]refused[/red]: not a terminal, so nobody can confirm; add --yes")
        raise typer.Exit(2)
    if not typer.confirm(question, default=False):
        console().print("nothing sent")
        raise typer.Exit(1)


def _gateway(no_send: bool) -> Gateway | None:
    """Build the gateway before anything is written: missing Twilio settings must stop a raise cold."""
    if no_send:
        return None
    from responder.gateways.factory import make_gateway

    ctx = app_context()
    return make_gateway(ctx.settings, ctx.clock, ctx.plan.messaging)


def _dispatch(outcome: Outcome, no_send: bool, gateway: Gateway | None = None) -> None:
    out = console()
    if no_send:
        out.print(f"{outcome.messages} messages queued; run `responder dispatch` to send them")
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from responder.worker.dispatcher import Dispatcher, pending_count

    ctx = app_context()
    total = pending_count(ctx, outcome.incident_id)
    gateway = gateway or _gateway(no_send)
    assert gateway is not None
    dispatcher = Dispatcher(ctx, gateway, concurrency=ctx.settings.send_concurrency)
    with Progress(TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  console=console(stderr=True), transient=False) as progress:
        task = progress.add_task("", total=total)
        stats = dispatcher.drain(on_progress=lambda s: progress.update(
            task, completed=min(total, s.processed), description=f"sent {s.sent} failed {s.failed} retry {s.retried}"))
    out.print(f"sent {stats.sent}, failed {stats.failed}, to retry later {stats.retried}")
    left = pending_count(ctx, outcome.incident_id)
    if left:
        out.print(f"[yellow]{left} messages still queued (retries): keep `responder dispatch` running[/yellow]")


def _report(outcome: Outcome, verb: str) -> None:
    console().print(f"incident #{outcome.incident_id} (code {outcome.code}) {verb}: level {outcome.level}, "
                    f"{outcome.recipients} recipients, {outcome.messages} messages queued"
                    + (f", {outcome.cancelled} unsent cancelled" if outcome.cancelled else ""))


@app.command("raise", help="Declare a warning level for a hazard: preview, confirm, call out.")
def raise_(
    level: Annotated[int, typer.Option("--level", "-l", help="Warning level: 4 blue, 3 yellow, 2 orange, 1 red.")],
    reason: Reason,
    hazard: Annotated[str, typer.Option("--hazard", help="Hazard id from the plan (flood, drought).")] = "flood",
    by: By = None,
    yes: Yes = False,
    no_send: NoSend = False,
) -> None:
    from responder.app.alerts import preview_raise, raise_alert

    ctx = app_context()
    _print_preview(preview_raise(ctx, hazard, level, reason))
    gateway = _gateway(no_send)
    _confirm(yes, "Send these call-outs now?")
    outcome = raise_alert(ctx, hazard, level, reason, _by(by))
    _report(outcome, "raised")
    _dispatch(outcome, no_send, gateway)


def _change(incident: int, level: int, reason: str, by: str | None, yes: bool, no_send: bool, verb: str) -> None:
    from responder.app.alerts import change_level, check_direction
    from responder.app.status import get_incident

    current = get_incident(app_context(), incident)
    if current.status == "open":
        check_direction(current, level, verb)
    gateway = _gateway(no_send)
    _confirm(yes, f"{verb.capitalize()} incident #{incident} from level {current.level} to {level}?")
    outcome = change_level(app_context(), incident, level, reason, _by(by))
    _report(outcome, f"{verb}d")
    _dispatch(outcome, no_send, gateway)


@app.command("upgrade", help="Raise an open incident to a more severe level; calls the newly required groups.")
def upgrade(
    incident: Annotated[int, typer.Argument(help="Incident id.")],
    level: Annotated[int, typer.Option("--level", "-l", help="The new, more severe level.")],
    reason: Reason,
    by: By = None, yes: Yes = False, no_send: NoSend = False,
) -> None:
    _change(incident, level, reason, by, yes, no_send, "upgrade")


@app.command("downgrade", help="Lower an open incident's level; tells everyone already called.")
def downgrade(
    incident: Annotated[int, typer.Argument(help="Incident id.")],
    level: Annotated[int, typer.Option("--level", "-l", help="The new, less severe level.")],
    reason: Reason,
    by: By = None, yes: Yes = False, no_send: NoSend = False,
) -> None:
    _change(incident, level, reason, by, yes, no_send, "downgrade")


@app.command("end", help="Stand down (应急结束): cancel unsent messages and tell everyone already told.")
def end(
    incident: Annotated[int, typer.Argument(help="Incident id.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why it is over.")] = "the danger has passed",
    by: By = None, yes: Yes = False, no_send: NoSend = False,
) -> None:
    from responder.app.alerts import end_alert

    gateway = _gateway(no_send)
    _confirm(yes, f"Stand down incident #{incident}?")
    outcome = end_alert(app_context(), incident, reason, _by(by))
    _report(outcome, "ended")
    _dispatch(outcome, no_send, gateway)


@app.command("list", help="Incidents, newest first.")
def list_(
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
    as_json: AsJson = False,
) -> None:
    from responder.app.status import list_incidents
    from responder.cli.tables import Table

    rows = list_incidents(app_context(), include_ended=not open_only)
    if as_json:
        dump_json([{"id": r.id, "code": r.code, "hazard": r.hazard, "level": r.level, "status": r.status,
                    "is_drill": r.is_drill, "raised_at": r.raised_at, "ended_at": r.ended_at, "reason": r.reason}
                   for r in rows])
        return
    table = Table("id", "code", "hazard", "level", "status", "raised", "ended", "reason")
    for r in rows:
        drill = " [magenta]DRILL 演练[/magenta]" if r.is_drill else ""
        table.add_row(str(r.id), r.code, r.hazard, str(r.level), r.status + drill, local_time(r.raised_at),
                      local_time(r.ended_at), r.reason)
    console().print(table)


@app.command("status", help="Per group: called, queued, sent, delivered, failed, confirmed; who is unreachable.")
def status(
    incident: Annotated[int, typer.Argument(help="Incident id.")],
    as_json: AsJson = False,
) -> None:
    from responder.app.status import incident_status
    from responder.cli.tables import Table

    ctx = app_context()
    st = incident_status(ctx, incident)
    if as_json:
        dump_json(st.to_dict())
        return
    inc = st.incident
    out = console()
    drill = " [magenta]【演练 DRILL】[/magenta]" if inc.is_drill else ""
    out.print(f"[bold]#{inc.id} {inc.code}[/bold]{drill} {inc.hazard} level {inc.level}, {inc.status}; raised "
              f"{local_time(inc.raised_at, zone=st.zone)} by {inc.raised_by}: {inc.reason}")
    table = Table("group", "called", "pending", "sent", "delivered", "failed", "confirmed", "required",
                  "not confirmed", "unreachable")
    for g in st.groups:
        c = g.counts
        table.add_row(f"{g.name} ({g.group})", str(g.called), str(c.get("pending", 0) + c.get("sending", 0)),
                      str(c.get("sent", 0)), str(c.get("delivered", 0)),
                      str(c.get("failed", 0) + c.get("undelivered", 0)), str(g.confirmed),
                      "—" if g.required is None else f"{g.confirmed}/{g.required}",
                      _names(g.not_confirmed) + (f"; awaiting the call's keypress: {_names(g.awaiting_call)}"
                                                 if g.awaiting_call else ""),
                      ", ".join(g.unreachable))
    out.print(table)
    if st.other:
        out.print("also told: " + ", ".join(f"{p.name} ({p.delivery})" for p in st.other))
    out.print("messages: " + ", ".join(f"{k} {v}" for k, v in sorted(st.totals.items())))
    if st.next_step:
        out.print(f"next escalation: {st.next_step['action']} at {local_time(st.next_step['due_at'], zone=st.zone)}")


def _names(names: list[str]) -> str:
    return ", ".join(names[:8]) + (" …" if len(names) > 8 else "")


@app.command("timeline", help="Every audit event of an incident in order: who, when, what, why, evidence.")
def timeline(
    incident: Annotated[int, typer.Argument(help="Incident id.")],
    as_json: AsJson = False,
) -> None:
    import json

    from responder.app.status import timeline as get_timeline
    from responder.cli.tables import Table

    events = get_timeline(app_context(), incident)
    if as_json:
        dump_json(events)
        return
    table = Table("when", "who", "what", "summary", "why", "evidence", show_lines=True)
    for e in events:
        table.add_row(local_time(e["at"]), e["actor"], e["kind"], e["summary"], e["reason"] or "",
                      json.dumps(e["evidence"], ensure_ascii=False) if e["evidence"] else "")
    console().print(table)


@app.command("ack", help="Record a confirmation taken by phone (the person called the office).")
def ack(
    incident: Annotated[int, typer.Argument(help="Incident id.")],
    person: Annotated[str, typer.Option("--person", "-p", help="Person id from the roster.")],
    by: By = None,
) -> None:
    from responder.app.confirm import acknowledge

    result = acknowledge(app_context(), incident, person, _by(by))
    words = {"confirmed": "confirmed", "acknowledged": "acknowledged the escalation report",
             "duplicate": "had already confirmed"}
    console().print(f"{person} {words[result.outcome]} for incident #{incident}")


@app.command("escalate", help="Run the next escalation step of an incident now.")
def escalate(
    incident: Annotated[int, typer.Argument(help="Incident id.")],
    by: By = None,
    no_send: NoSend = False,
) -> None:
    from responder.app.escalation import escalate_now

    outcome = escalate_now(app_context(), incident, _by(by))
    if outcome is None:
        console().print(f"incident #{incident} has no pending escalation step")
        return
    console().print(f"step {outcome.step_id} {outcome.action}: {outcome.status}, {outcome.detail}")
    from responder.app.alerts import Outcome

    _dispatch(Outcome(incident, "", 0, "", 0, outcome.messages), no_send or outcome.messages == 0)


@app.command("replies", help="SMS replies that were not a confirmation: notes, unknown senders, after stand-down.")
def replies(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    everything: Annotated[bool, typer.Option("--all", help="Include confirmations too.")] = False,
    as_json: AsJson = False,
) -> None:
    from responder.app.status import inbound_messages
    from responder.cli.tables import Table

    rows = inbound_messages(app_context(), limit, only_unhandled=not everything)
    if as_json:
        dump_json(rows)
        return
    table = Table("received", "from", "person", "incident", "outcome", "text")
    for r in rows:
        table.add_row(local_time(r["received_at"]), r["from_number"], r["person_id"] or "?",
                      str(r["incident_id"] or ""), r["outcome"], r["body"])
    console().print(table)


def _proposal_id(text: str) -> int:
    from responder.domain.errors import InputError, Problem

    try:
        return int(text.strip().upper().removeprefix("P"))
    except ValueError:
        raise InputError(Problem(f"{text!r} is not a proposal id (e.g. P12)", field="PROPOSAL")) from None


@app.command("proposals", help="Levels proposed by feed rules, waiting for the duty officer, with their evidence.")
def proposals(as_json: AsJson = False) -> None:
    import json

    from responder.app.proposals import pending_proposals
    from responder.cli.tables import Table

    rows = pending_proposals(app_context())
    if as_json:
        dump_json([{"id": f"P{p.id}", "hazard": p.hazard, "action": p.action, "level": p.level, "rule": p.rule_id,
                    "evidence": p.evidence, "created_at": p.created_at} for p in rows])
        return
    table = Table("proposal", "when", "action", "hazard", "level", "rule", "evidence")
    for p in rows:
        table.add_row(f"P{p.id}", local_time(p.created_at), p.action, p.hazard, str(p.level or "—"), p.rule_id,
                      json.dumps(p.evidence, ensure_ascii=False))
    console().print(table if rows else "no pending proposals")


@app.command("confirm", help="Confirm a proposed level (P12): runs the same raise/upgrade/downgrade/stand-down.")
def confirm(
    proposal: Annotated[str, typer.Argument(help="Proposal id, e.g. P12.")],
    by: By = None, yes: Yes = False, no_send: NoSend = False,
) -> None:
    from responder.app.alerts import Outcome
    from responder.app.proposals import decide

    _confirm(yes, f"Confirm proposal {proposal}?")
    result = decide(app_context(), _proposal_id(proposal), _by(by), confirm=True)
    console().print(f"P{result.proposal_id} {result.status}: {result.action} level {result.level}, incident "
                    f"#{result.incident_id}")
    if result.incident_id is not None:
        _dispatch(Outcome(result.incident_id, "", result.level or 0, result.status, 0, 0), no_send)


@app.command("reject", help="Reject a proposed level with a reason (kept in the audit trail).")
def reject(
    proposal: Annotated[str, typer.Argument(help="Proposal id, e.g. P12.")],
    reason: Reason,
    by: By = None,
) -> None:
    from responder.app.proposals import decide

    result = decide(app_context(), _proposal_id(proposal), _by(by), confirm=False, reason=reason)
    console().print(f"P{result.proposal_id} rejected")
