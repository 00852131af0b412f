"""Alibaba Cloud's HTTP batch pushes: SMS replies (SmsUp), SMS delivery receipts (SmsReport) and voice receipts
(with the key pressed in an IvrCall), each a JSON array, into the same use cases as Twilio's hooks.

* ``POST /alibaba/{token}/sms-up``: ``phone_number``, ``content``, ``sequence_id`` ->
  :func:`responder.app.confirm.handle_inbound` (a reply "1" confirms, as through Twilio);
* ``POST /alibaba/{token}/sms-report``: ``biz_id``, ``phone_number``, ``success``, ``err_code`` ->
  :func:`responder.app.confirm.record_delivery` (the gateway gave the message the id ``biz_id:phone_number``);
* ``POST /alibaba/{token}/voice-report``: ``call_id``, ``status_code``, ``dtmf``, ``out_id`` (our outbox id) ->
  :func:`responder.app.confirm.handle_keypress` for a "1", and the call's delivery status.

The provider documents no signature for these pushes: the address given in its console carries a secret
(``RESPONDER_ALIBABA_CALLBACK_TOKEN``), compared in constant time; a wrong one gets 403, none configured 503. The
path is in the web server's access log: keep that log private, or change the token when it has been shown.
Answers ``{"code": 0, "msg": "接收成功"}``, as the provider requires (anything else, or a 5xx, and it pushes again).
"""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from responder.app.confirm import handle_inbound, handle_keypress, record_delivery
from responder.app.ports import Context
from responder.domain.errors import ResponderError
from responder.web.forms import Stop, bad_request, forbidden, guarded, log, read_body, run

MAX_ITEMS = 500
_NUMBER = re.compile(r"^\+?\d{5,15}$")
RECEIVED = {"code": 0, "msg": "接收成功"}
ANSWERED = frozenset({"200000", "200100"})
"""Voice status codes of an answered call (the provider's 呼叫状态码); anything else: not reached."""


def _e164(number: str) -> str:
    """The provider's mainland numbers come without +86 (a leading 86 or 0086 is taken off too)."""
    digits = number.strip().lstrip("+")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return f"+86{digits}" if len(digits) == 11 and digits.startswith("1") else f"+{digits}"


def routes(ctx: Context) -> list[Route]:
    async def items(request: Request) -> list[dict[str, Any]]:
        token = ctx.settings.alibaba_callback_token
        if token is None:
            log.warning("alibaba push to %s refused: RESPONDER_ALIBABA_CALLBACK_TOKEN is not set", request.url.path)
            raise Stop(Response("not configured\n", status_code=503, media_type="text/plain"))
        given = str(request.path_params.get("token", ""))
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            log.warning("alibaba push with a wrong token refused")
            raise forbidden()
        body = await read_body(request)
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise bad_request(request, f"not JSON: {exc}") from None
        if not isinstance(data, list) or len(data) > MAX_ITEMS or not all(isinstance(i, dict) for i in data):
            raise bad_request(request, f"expected a JSON array of at most {MAX_ITEMS} objects")
        return data

    def text(request: Request, item: dict[str, Any], name: str, max_length: int = 1000) -> str:
        value = item.get(name)
        if not isinstance(value, str | int) or len(str(value)) > max_length:
            raise bad_request(request, f"{name} missing or not a string of at most {max_length}")
        return str(value)

    # Every item of a push is read before any is acted on: a malformed one refuses the push whole (400), unchanged.
    async def sms_up(request: Request) -> Response:
        replies = []
        for item in await items(request):
            number = text(request, item, "phone_number", 20)
            if not _NUMBER.match(number):
                raise bad_request(request, "phone_number is not a phone number")
            replies.append((_e164(number), str(item.get("dest_code", ""))[:40], text(request, item, "content", 1000),
                            f"smsup:{text(request, item, 'sequence_id', 40)}"))
        for number, to, content, sid in replies:
            result = await run(request, handle_inbound, ctx, number, to, content, sid)
            log.info("alibaba SmsUp %s: %s (incident %s, person %s)", sid, result.outcome, result.incident_id,
                     result.person_id)
        return JSONResponse(RECEIVED)

    async def sms_report(request: Request) -> Response:
        receipts = []
        for item in await items(request):
            sid = f"{text(request, item, 'biz_id', 40)}:{text(request, item, 'phone_number', 20)}"
            status = "delivered" if item.get("success") is True else "undelivered"
            code = str(item.get("err_code") or "")[:20] or None
            receipts.append((sid, status, None if status == "delivered" else code))
        for sid, status, code in receipts:
            outcome = await run(request, record_delivery, ctx, sid, status, code)
            log.debug("alibaba SmsReport %s=%s: %s", sid, status, outcome)
        return JSONResponse(RECEIVED)

    async def voice_report(request: Request) -> Response:
        reports = [(text(request, item, "call_id", 64), item) for item in await items(request)]
        for call_id, item in reports:
            dtmf = str(item.get("dtmf") or "")
            out_id = str(item.get("out_id") or "")
            if dtmf and out_id.isdigit():
                try:
                    result = await run(request, handle_keypress, ctx, int(out_id), dtmf)
                except ResponderError as exc:
                    log.warning("alibaba keypress for call %s: %s", out_id, exc)
                    continue
                log.info("alibaba keypress %r for call %s: %s", dtmf, out_id, result.outcome if result else "ignored")
            status_code = str(item.get("status_code") or "")
            if status_code:
                status = "delivered" if status_code in ANSWERED else "undelivered"
                await run(request, record_delivery, ctx, call_id, status,
                          None if status == "delivered" else status_code[:20])
        return JSONResponse(RECEIVED)

    return [Route("/alibaba/{token}/sms-up", guarded(sms_up), methods=["POST"]),
            Route("/alibaba/{token}/sms-report", guarded(sms_report), methods=["POST"]),
            Route("/alibaba/{token}/voice-report", guarded(voice_report), methods=["POST"])]
