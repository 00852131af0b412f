"""The officer's actions from the board: a form, the same preview as the CLI, an explicit confirm, then the use case.

``GET /actions/{name}`` shows the form; ``POST /actions/{name}`` with ``step=preview`` checks the values with the
very checks the CLI's use cases make and shows what would be sent (groups, people, each distinct text and its SMS
segments) with the values carried in hidden fields; ``step=confirm`` runs the use case with the signed-in user as
the one who decided, and goes to the incident. A bad value is shown next to its field and nothing is written;
an unknown incident or proposal is the 404 page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from responder.app import alerts, proposals
from responder.app.confirm import acknowledge
from responder.app.escalation import escalate_now
from responder.app.ports import Context
from responder.app.status import get_incident, incident_status
from responder.domain.errors import Conflict, InputError, NotFound, Problem, ResponderError
from responder.web.board import access
from responder.web.board.pages import forbidden_page, incident_id, not_found_page
from responder.web.board.rendering import render

MAX_FIELD = 2000
WHOLE = re.compile(r"^\s*-?[0-9]{1,6}\s*$")
FIELD_OF_OPTION = {"--level": "level", "--reason": "reason", "--hazard": "hazard", "--person": "person",
                   "PROPOSAL": "proposal", "roster": ""}

Values = dict[str, Any]


@dataclass(frozen=True)
class Summary:
    """A preview that sends no call-out of its own: what will be recorded or run."""

    lines: tuple[str, ...]


@dataclass(frozen=True)
class Done:
    what: str
    incident_id: int | None


@dataclass(frozen=True)
class Action:
    name: str
    fields: tuple[str, ...]
    on_incident: bool
    preview: Callable[[Context, Values], alerts.Preview | Summary]
    run: Callable[[Context, Values, str], Done]


def _whole(values: Mapping[str, str], name: str, option: str) -> int:
    raw = values.get(name, "")
    if not WHOLE.match(raw):
        raise InputError(Problem(f"{raw[:20]!r} is not a whole number", field=option))
    return int(raw)


def _proposal(values: Mapping[str, str]) -> int:
    raw = values.get("proposal", "").strip().upper().removeprefix("P")
    if not raw.isdigit() or len(raw) > 9:
        raise NotFound(f"no proposal {values.get('proposal', '')[:20]!r}")
    return int(raw)


def parse(action: Action, form: Mapping[str, str]) -> Values:
    """The form's values as the CLI's options would be: numbers as numbers, text as typed."""
    values: Values = {}
    for name in action.fields:
        raw = form.get(name, "")
        if len(raw) > MAX_FIELD:
            raise InputError(Problem(f"at most {MAX_FIELD} characters", field=f"--{name}"))
        values[name] = _whole(form, name, "--level") if name == "level" else raw
    if action.on_incident:
        values["incident"] = incident_id(form.get("incident", ""))
    if action.name.endswith("_proposal"):
        values["proposal"] = _proposal(form)
    return values


def _change_preview(verb: str) -> Callable[[Context, Values], alerts.Preview]:
    def preview(ctx: Context, v: Values) -> alerts.Preview:
        alerts.check_direction(get_incident(ctx, v["incident"]), v["level"], verb)
        return alerts.preview_change(ctx, v["incident"], v["level"], v["reason"])

    return preview


def _change_run(verb: str) -> Callable[[Context, Values, str], Done]:
    def run(ctx: Context, v: Values, by: str) -> Done:
        alerts.check_direction(get_incident(ctx, v["incident"]), v["level"], verb)
        outcome = alerts.change_level(ctx, v["incident"], v["level"], v["reason"], by)
        return Done(f"{verb} → {outcome.level}", outcome.incident_id)

    return run


def _raise_run(ctx: Context, v: Values, by: str) -> Done:
    outcome = alerts.raise_alert(ctx, v["hazard"], v["level"], v["reason"], by)
    return Done(f"raised {outcome.code}", outcome.incident_id)


def _end_run(ctx: Context, v: Values, by: str) -> Done:
    outcome = alerts.end_alert(ctx, v["incident"], v["reason"], by)
    return Done("ended", outcome.incident_id)


def _ack_preview(ctx: Context, v: Values) -> Summary:
    status = incident_status(ctx, v["incident"])
    if status.incident.status != "open":
        raise Conflict(f"incident #{status.incident.id} has already ended")
    person = next((p for p in status.people + status.other if p.person_id == v["person"].strip()), None)
    if person is None:
        raise InputError(Problem(f"{v['person'][:40]!r} was not called out for incident #{v['incident']}",
                                 field="--person"))
    already = f" (already confirmed {person.confirmed_at:%H:%M})" if person.confirmed_at else ""
    return Summary((f"{person.name} ({person.person_id}) confirmed by phone{already}",))


def _ack_run(ctx: Context, v: Values, by: str) -> Done:
    result = acknowledge(ctx, v["incident"], v["person"].strip(), by)
    return Done(f"{v['person'].strip()} {result.outcome}", v["incident"])


def _escalate_preview(ctx: Context, v: Values) -> Summary:
    status = incident_status(ctx, v["incident"])
    if status.incident.status != "open":
        raise Conflict(f"incident #{status.incident.id} has already ended")
    step = status.next_step
    if step is None:
        raise Conflict(f"incident #{status.incident.id} has no pending escalation step")
    chain = f" ({step['chain_step']})" if step.get("chain_step") else ""
    due = step["due_at"].astimezone(ctx.plan.area.zone)
    return Summary((f"step {step['id']}: {step['action']}{chain}, round {step['round']}, "
                    f"due {due:%Y-%m-%d %H:%M %Z} — run now",))


def _escalate_run(ctx: Context, v: Values, by: str) -> Done:
    outcome = escalate_now(ctx, v["incident"], by)
    if outcome is None:
        raise Conflict(f"incident #{v['incident']} has no pending escalation step")
    return Done(f"step {outcome.step_id} {outcome.action}: {outcome.status}", v["incident"])


def _proposal_preview(ctx: Context, v: Values) -> alerts.Preview | Summary:
    proposal, current, action = proposals.planned_action(ctx, v["proposal"])
    reason = v["reason"].strip() or proposals.default_reason(proposal)
    if action == "raise" and proposal.level is not None:
        return alerts.preview_raise(ctx, proposal.hazard, proposal.level, reason, proposal.is_drill)
    if action in ("upgrade", "downgrade") and current is not None and proposal.level is not None:
        return alerts.preview_change(ctx, current.id, proposal.level, reason)
    if action == "end" and current is not None:
        return alerts.preview_end(ctx, current.id, reason)
    return Summary((f"P{proposal.id}: level {proposal.level} already stands; it will be marked superseded",))


def _proposal_run(confirm: bool) -> Callable[[Context, Values, str], Done]:
    def run(ctx: Context, v: Values, by: str) -> Done:
        outcome = proposals.decide(ctx, v["proposal"], by, confirm=confirm, reason=v["reason"].strip() or None)
        return Done(f"P{outcome.proposal_id} {outcome.status}", outcome.incident_id)

    return run


def _reject_preview(ctx: Context, v: Values) -> Summary:
    proposal, _, _ = proposals.planned_action(ctx, v["proposal"])
    if not v["reason"].strip():
        raise InputError(Problem("a reason is required to reject a proposal", field="--reason"))
    return Summary((f"P{proposal.id} ({proposal.action} {proposal.hazard} level {proposal.level}) rejected: "
                    f"{v['reason'].strip()}",))


ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("raise", ("hazard", "level", "reason"), False,
           lambda ctx, v: alerts.preview_raise(ctx, v["hazard"], v["level"], v["reason"]), _raise_run),
    Action("upgrade", ("level", "reason"), True, _change_preview("upgrade"), _change_run("upgrade")),
    Action("downgrade", ("level", "reason"), True, _change_preview("downgrade"), _change_run("downgrade")),
    Action("end", ("reason",), True, lambda ctx, v: alerts.preview_end(ctx, v["incident"], v["reason"]), _end_run),
    Action("ack", ("person",), True, _ack_preview, _ack_run),
    Action("escalate", (), True, _escalate_preview, _escalate_run),
    Action("confirm_proposal", ("reason",), False, _proposal_preview, _proposal_run(True)),
    Action("reject_proposal", ("reason",), False, _reject_preview, _proposal_run(False)),
)}


def errors_of(exc: InputError) -> dict[str, list[str]]:
    """Each problem under the form field it is about ("" for the form as a whole)."""
    out: dict[str, list[str]] = {}
    for problem in exc.problems:
        key = FIELD_OF_OPTION.get(problem.field or "", "")
        out.setdefault(key, []).append(problem.message)
    return out


class Actions:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _subject(self, action: Action, form: Mapping[str, str]) -> dict[str, Any]:
        """The incident or proposal the action is about, for the page's heading (NotFound for an unknown one)."""
        incident = incident_status(self.ctx, incident_id(form.get("incident", ""))) if action.on_incident else None
        proposal = None
        if action.name.endswith("_proposal"):
            proposal, _, _ = proposals.planned_action(self.ctx, _proposal(form))
        return {"incident": incident, "proposal": proposal}

    def _form_page(self, request: Request, action: Action, form: Mapping[str, str], status_code: int = 200,
                   errors: Mapping[str, list[str]] | None = None) -> Response:
        return render(self.ctx, request, "action.html", status_code=status_code, action=action, form=form,
                      errors=errors or {}, step="form", **self._subject(action, form))

    def _preview_page(self, request: Request, action: Action, form: Mapping[str, str], values: Values) -> Response:
        preview = action.preview(self.ctx, values)
        return render(self.ctx, request, "action.html", action=action, form=form, errors={}, preview=preview,
                      step="preview", **self._subject(action, form))

    def _allowed(self, request: Request) -> Action | Response:
        """The action the path names, or the page saying why not: unknown (404), or not for this role (403)."""
        action = ACTIONS.get(str(request.path_params["name"]))
        if action is None:
            return not_found_page(self.ctx, request, str(request.path_params["name"])[:40])
        if not access.may_act(request):
            return forbidden_page(self.ctx, request)
        return action

    async def show(self, request: Request) -> Response:
        action = self._allowed(request)
        if isinstance(action, Response):
            return action
        return await self._form(request, action, dict(request.query_params.items()), 200, {})

    async def act(self, request: Request) -> Response:
        action = self._allowed(request)
        if isinstance(action, Response):
            return action
        raw = await request.form()
        form = {k: v for k, v in raw.items() if isinstance(v, str)}
        try:
            values = parse(action, form)
            if form.get("step") == "confirm":
                done = await run_in_threadpool(action.run, self.ctx, values, access.actor(request))
                target = f"/incidents/{done.incident_id}" if done.incident_id is not None else "/"
                return RedirectResponse(f"{target}?done={_quoted(done.what)}", status_code=303)
            return await run_in_threadpool(self._preview_page, request, action, form, values)
        except NotFound as exc:
            return not_found_page(self.ctx, request, str(exc))
        except InputError as exc:
            return await self._form(request, action, form, 400, errors_of(exc))
        except ResponderError as exc:  # Conflict and the like: the state changed under the officer
            return await self._form(request, action, form, 409, {"": [str(exc)]})

    async def _form(self, request: Request, action: Action, form: Mapping[str, str], status_code: int,
                    errors: Mapping[str, list[str]]) -> Response:
        """The form again (with the errors next to their fields); the 404 or the error page if it cannot be."""
        try:
            return await run_in_threadpool(self._form_page, request, action, form, status_code, errors)
        except NotFound as exc:
            return not_found_page(self.ctx, request, str(exc))
        except ResponderError as exc:
            return render(self.ctx, request, "message.html", status_code=409, heading="error", detail=str(exc))


def _quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text[:120])
