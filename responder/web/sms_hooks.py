"""The SMS side of the Twilio hooks: delivery status callbacks (of messages and calls) and SMS replies.

* ``POST /twilio/status``: MessageSid/MessageStatus (or CallSid/CallStatus) with ErrorCode ->
  :func:`responder.app.confirm.record_delivery`. Answers 204.
* ``POST /twilio/inbound``: From, To, Body, MessageSid -> :func:`responder.app.confirm.handle_inbound`. Answers an
  empty ``<Response/>``: replies go out through the outbox, not in the webhook answer.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.twiml.messaging_response import MessagingResponse

from responder.app.confirm import handle_inbound, record_delivery
from responder.app.ports import Context
from responder.gateways.callbacks import STATUS_PATH
from responder.web.forms import ERROR_CODE, SID, field, guarded, log, path_of, required_field, run, text_field
from responder.web.signatures import SignatureCheck

CALL_STATUS = {
    "queued": "queued", "initiated": "sending", "ringing": "sending", "in-progress": "delivered",
    "answered": "delivered", "completed": "delivered", "busy": "undelivered", "no-answer": "undelivered",
    "failed": "failed", "canceled": "canceled",
}
"""Twilio call statuses in the vocabulary of message statuses: a call answered is a message delivered, a call
nobody picked up is undelivered (the person is unreachable by voice)."""


def routes(ctx: Context, check: SignatureCheck) -> list[Route]:
    async def status_callback(request: Request) -> Response:
        form = await check.form(request)
        is_call = "CallStatus" in form and "MessageStatus" not in form
        sid = required_field(request, form, *(("CallSid",) if is_call else ("MessageSid", "SmsSid")), pattern=SID)
        status = required_field(request, form, *(("CallStatus",) if is_call else ("MessageStatus", "SmsStatus")))
        if is_call:
            status = CALL_STATUS.get(status.strip().lower(), status)
        error_code = field(request, form, "ErrorCode", pattern=ERROR_CODE, required=False) or None
        outcome = await run(request, record_delivery, ctx, sid, status, error_code)
        if outcome in ("unknown", "ignored"):
            log.info("status callback %s %s=%r%s: %s", path_of(request), sid, status,
                     f" error {error_code}" if error_code else "", outcome)
        else:
            log.debug("status callback %s=%s: %s", sid, status, outcome)
        return Response(status_code=204)

    async def inbound(request: Request) -> Response:
        form = await check.form(request)
        from_number = text_field(request, form, "From", 40)
        to_number = text_field(request, form, "To", 40)
        sid = required_field(request, form, "MessageSid", "SmsSid", pattern=SID)
        body = required_field(request, form, "Body")
        result = await run(request, handle_inbound, ctx, from_number, to_number, body, sid)
        log.info("inbound SMS %s: %s (incident %s, person %s)", sid, result.outcome, result.incident_id,
                 result.person_id)
        return Response(str(MessagingResponse().to_xml()), media_type="text/xml")

    return [Route(STATUS_PATH, guarded(status_callback), methods=["POST"]),
            Route("/twilio/inbound", guarded(inbound), methods=["POST"])]
