"""The voice side of the Twilio hooks: the TwiML of a call, and the key a person pressed during it.

* ``POST|GET /twilio/voice/{outbox_id}``: the TwiML of an outgoing call, for a call that fetches a URL (the Twilio
  gateway places calls with the same document inline).
* ``POST /twilio/voice/{outbox_id}/gather``: the keypress (Digits) -> :func:`responder.app.confirm.handle_keypress`;
  answers "confirmed, thank you" in the person's language, or repeats the prompt once.

The markup is the Twilio adapter's (``responder.gateways.twilio.twiml``): these hooks answer Twilio.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from responder.app.confirm import handle_keypress
from responder.app.incident_basis import snapshot_of
from responder.app.ports import Context
from responder.domain.errors import ResponderError
from responder.domain.messages import IncidentFacts, render
from responder.gateways.callbacks import KEYPRESS_PATH, keypress_url
from responder.gateways.twilio.twiml import call_twiml, confirmed_twiml, hangup_twiml
from responder.storage import incidents as store
from responder.web.forms import DIGITS, guarded, log, outbox_id, remote, required_field, run
from responder.web.signatures import SignatureCheck


def _twiml(xml: str) -> Response:
    return Response(xml, media_type="text/xml")


def _voice_call(ctx: Context, outbox_id: int) -> tuple[str, str] | None:
    """(body, language) of the call's outbox row."""
    with ctx.sessions() as session:
        return store.call_text(session, outbox_id)


def _confirmed_text(ctx: Context, outbox_id: int) -> str | None:
    """The plan's "confirmed" text for the incident of this call (with its code and drill marker), if any."""
    try:
        with ctx.sessions() as session:
            message = store.message(session, outbox_id)
            incident = store.incident(session, message.incident_id) if message and message.incident_id else None
            if message is None or incident is None:
                return None
            plan, _ = snapshot_of(incident)
            facts = IncidentFacts(incident.code, incident.hazard, incident.level, incident.reason, incident.is_drill)
            return render(plan, "confirmed", message.language, facts, when=ctx.clock.now())
    except Exception:  # the built-in text will do: never fail a confirmation over its wording
        log.exception("voice %s: cannot render the 'confirmed' text, using the built-in one", outbox_id)
        return None


def routes(ctx: Context, check: SignatureCheck) -> list[Route]:
    def action(call_id: int) -> str:
        return keypress_url(ctx.settings.public_url, call_id) or KEYPRESS_PATH.format(outbox_id=call_id)

    async def voice(request: Request) -> Response:
        await check.form(request)
        call_id = outbox_id(request)
        call = await run(request, _voice_call, ctx, call_id)
        if call is None:
            log.warning("voice TwiML for unknown call %s requested from %s", call_id, remote(request))
            return _twiml(hangup_twiml())
        return _twiml(call_twiml(call[0], call[1], action(call_id)))

    async def keypress(request: Request) -> Response:
        form = await check.form(request)
        call_id = outbox_id(request)
        digits = required_field(request, form, "Digits", pattern=DIGITS)
        first_try = request.query_params.get("attempt", "1") == "1"
        call = await run(request, _voice_call, ctx, call_id)
        if call is None:
            log.warning("keypress %r for unknown call %s from %s", digits, call_id, remote(request))
            return _twiml(hangup_twiml())
        body, language = call
        if digits.strip() == "1":
            try:
                result = await run(request, handle_keypress, ctx, call_id, digits)
            except ResponderError as exc:
                log.warning("keypress for call %s: %s", call_id, exc)
                return _twiml(hangup_twiml())
            if result is None:
                log.info("keypress 1 for call %s: its incident is no longer open", call_id)
                return _twiml(hangup_twiml())
            log.info("keypress 1 for call %s: %s (incident %s, person %s)", call_id, result.outcome,
                     result.incident_id, result.person_id)
            text = await run(request, _confirmed_text, ctx, call_id)
            return _twiml(confirmed_twiml(language, text))
        log.info("keypress %r for call %s: not 1, %s", digits, call_id,
                 "prompting again" if first_try else "hanging up")
        if not first_try:
            return _twiml(hangup_twiml())
        return _twiml(call_twiml(body, language, f"{action(call_id)}?attempt=2", repeats=0))

    return [Route("/twilio/voice/{outbox_id}", guarded(voice), methods=["GET", "POST"]),
            Route(KEYPRESS_PATH, guarded(keypress), methods=["POST"])]
