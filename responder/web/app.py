"""The web hooks Twilio calls, and ``GET /health``: the ASGI app ``responder serve`` runs under uvicorn.

Routes:

* ``POST /twilio/status``: delivery status callbacks for messages (MessageSid, MessageStatus) and calls
  (CallSid, CallStatus), with ErrorCode -> :func:`responder.app.confirm.record_delivery`. Answers 204.
* ``POST /twilio/inbound``: an SMS reply (From, To, Body, MessageSid) -> :func:`~responder.app.confirm.
  handle_inbound`. Answers an empty ``<Response/>``: replies go out through the outbox, not in the webhook answer.
* ``POST|GET /twilio/voice/{outbox_id}``: the TwiML of an outgoing call, for providers that fetch a URL (the
  dispatcher also places calls with the same TwiML inline).
* ``POST /twilio/voice/{outbox_id}/gather``: the keypress (Digits) -> :func:`~responder.app.confirm.
  handle_keypress`; answers "confirmed, thank you" in the person's language, or repeats the prompt once.
* ``GET /health``: database reachable, schema up to date, plus what the ``health`` callable reports.
* ``GET /cap/feed.atom``, ``GET /cap/{identifier}.xml``: the public warnings (:mod:`responder.web.cap_feed`).

Every ``/twilio/*`` request must carry a valid ``X-Twilio-Signature``, checked with the SDK's
``RequestValidator`` against the *public* URL (``settings.public_url`` + path + query string), never the host
the request reached internally. Unsigned, forged or mis-addressed requests get 403, a warning in the log, and
nothing is changed. Bodies that are not what Twilio sends get 400 (or 200 where Twilio could do nothing better,
e.g. a callback for a message we do not know), are logged, and never cause a 500.

Twilio is imported here (and in ``responder.gateways.twiml``) only: ``responder serve`` is the only command
that loads this module.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import twilio.request_validator as twilio_signature
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from responder.app.alerts import snapshot_of
from responder.app.confirm import handle_inbound, handle_keypress, record_delivery
from responder.app.context import AppContext
from responder.domain.errors import ResponderError
from responder.domain.messages import IncidentFacts, render
from responder.gateways.twiml import GATHER_PATH, call_twiml, confirmed_twiml, gather_url, hangup_twiml
from responder.settings import Settings
from responder.storage.models import IncidentRow, OutboxRow
from responder.web.cap_feed import cap_routes

log = logging.getLogger(__name__)

T = TypeVar("T")
Form = ImmutableMultiDict[str, str]
HealthCheck = Callable[[], Mapping[str, Any]]

SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 128 * 1024
"""Far above anything Twilio sends (a 1600-character Chinese SMS is under 15 kB encoded)."""
MAX_FIELDS = 200
OPEN_GATEWAYS = ("console", "fake")
"""Gateways for local use: with no auth token configured, their webhooks are accepted unsigned."""
MAX_OUTBOX_ID = 2**31 - 1

SID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ERROR_CODE = re.compile(r"^(\d{1,10})?$")
DIGITS = re.compile(r"^[0-9*#]{0,32}$")
OUTBOX_ID = re.compile(r"^[0-9]{1,10}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

CALL_STATUS = {
    "queued": "queued", "initiated": "sending", "ringing": "sending", "in-progress": "delivered",
    "answered": "delivered", "completed": "delivered", "busy": "undelivered", "no-answer": "undelivered",
    "failed": "failed", "canceled": "canceled",
}
"""Twilio call statuses in the vocabulary of message statuses: a call answered is a message delivered, a call
nobody picked up is undelivered (the person is unreachable by voice)."""


class _Stop(Exception):
    """Answer the request with ``response`` now (bad input, refused signature, database down)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _path(request: Request) -> str:
    """The request path for the log, control characters (a percent-encoded newline...) made harmless."""
    return CONTROL.sub("?", request.url.path)[:200]


def _remote(request: Request) -> str:
    host = request.client.host if request.client else "?"
    forwarded = request.headers.get("x-forwarded-for")
    return f"{host} (forwarded for {forwarded!r})" if forwarded else host


def _twiml(xml: str) -> Response:
    return Response(xml, media_type="text/xml")


def _empty_messaging() -> Response:
    return _twiml(str(MessagingResponse().to_xml()))


def _bad_request(request: Request, why: str) -> _Stop:
    log.warning("malformed %s %s from %s: %s", request.method, _path(request), _remote(request), why)
    return _Stop(Response(f"bad request: {why}\n", status_code=400, media_type="text/plain"))


class SignatureCheck:
    """Who may call the ``/twilio/*`` hooks.

    * With ``twilio_auth_token`` set: only requests whose ``X-Twilio-Signature`` matches, computed by
      ``RequestValidator(auth_token)`` over ``public_url`` + path + query string and the form parameters. If
      ``public_url`` is not set the URL Twilio signed cannot be known, and every request is refused.
    * With no auth token: refused, unless ``settings.gateway`` is "console" or "fake". Those are for local
      use (drills on a laptop, tests), where webhooks are accepted unsigned.
    """

    def __init__(self, settings: Settings) -> None:
        token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
        self.validator = RequestValidator(token) if token else None
        self.public_url = settings.public_url.rstrip("/") if settings.public_url else None
        self.open = self.validator is None and settings.gateway in OPEN_GATEWAYS
        self._algorithm_of: Callable[[str], str] | None = getattr(twilio_signature, "get_signature_algorithm", None)

    def signed_url(self, request: Request) -> str | None:
        """The URL Twilio requested: the public base, then the path and query exactly as they arrived."""
        if self.public_url is None:
            return None
        raw_path = request.scope.get("raw_path")
        path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) and raw_path else request.url.path
        query = request.scope.get("query_string", b"").decode("latin-1")
        return self.public_url + path + (f"?{query}" if query else "")

    def refusal(self, request: Request, params: Form) -> str | None:
        """Why the request is refused, or None if it may proceed."""
        if self.open:
            return None
        if self.validator is None:
            return "no Twilio auth token is configured (RESPONDER_TWILIO_AUTH_TOKEN): webhooks are refused"
        url = self.signed_url(request)
        if url is None:
            return "RESPONDER_PUBLIC_URL is not set: the signed URL is unknown, webhooks are refused"
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            return "unsigned (no X-Twilio-Signature)"
        settings_header = request.headers.get(SETTINGS_HEADER)
        try:
            if settings_header and self._algorithm_of is not None:
                valid = self.validator.validate(url, params, signature, algorithm=self._algorithm_of(settings_header))
            else:
                valid = self.validator.validate(url, params, signature)
        except (ValueError, TypeError, UnicodeError) as exc:
            return f"signature could not be checked: {exc}"
        return None if valid else f"signature does not match {url}"


async def _read_body(request: Request) -> bytes:
    def too_large() -> _Stop:
        log.warning("%s %s from %s: body over %d bytes refused", request.method, _path(request), _remote(request),
                    MAX_BODY_BYTES)
        return _Stop(Response("request body too large\n", status_code=413, media_type="text/plain"))

    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise too_large()
            chunks.append(chunk)
    except ClientDisconnect:
        raise _Stop(Response(status_code=400)) from None
    return b"".join(chunks)


def _parse_form(request: Request, body: bytes) -> tuple[Form, str | None]:
    """The form parameters, and what is wrong with the body if it is not a form Twilio would send."""
    if request.method == "GET":
        return ImmutableMultiDict(), None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        return ImmutableMultiDict(), f"content-type {content_type or 'missing'!r}, expected {FORM_TYPE}"
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), encoding="utf-8",
                          errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        return ImmutableMultiDict(), f"not a valid form body: {exc}"
    return ImmutableMultiDict(pairs), None


def _field(request: Request, form: Form, *names: str, pattern: re.Pattern[str] | None = None,
           required: bool = True) -> str | None:
    """The first of ``names`` present in the form; 400 if required and missing, or not matching ``pattern``."""
    for name in names:
        values = form.getlist(name)
        if not values:
            continue
        if len(values) > 1:
            raise _bad_request(request, f"{name} given {len(values)} times")
        value = values[0]
        if pattern is not None and not pattern.match(value):
            raise _bad_request(request, f"{name} is not valid: {value[:40]!r}")
        return value
    if required:
        raise _bad_request(request, f"missing {' or '.join(names)}")
    return None


def _text_field(request: Request, form: Form, name: str, max_length: int) -> str:
    value = _field(request, form, name)
    assert value is not None
    if not value.strip() or len(value) > max_length or CONTROL.search(value):
        raise _bad_request(request, f"{name} is not valid: {value[:40]!r}")
    return value.strip()


def _outbox_id(request: Request) -> int:
    raw = str(request.path_params.get("outbox_id", ""))
    if not OUTBOX_ID.match(raw) or not 0 < int(raw) <= MAX_OUTBOX_ID:
        raise _bad_request(request, f"outbox id {raw[:40]!r} is not a number")
    return int(raw)


async def _run(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """Run blocking database work off the event loop; a database that fails answers 503 (Twilio may retry)."""
    try:
        return await run_in_threadpool(fn, *args)
    except (DBAPIError, PoolTimeout):
        log.exception("%s %s: database error", request.method, _path(request))
        raise _Stop(Response("database unavailable\n", status_code=503, media_type="text/plain")) from None


def _voice_call(ctx: AppContext, outbox_id: int) -> tuple[str, str] | None:
    """(body, language) of the call's outbox row."""
    with ctx.sessions() as session:
        row = session.execute(select(OutboxRow.body, OutboxRow.language).where(OutboxRow.id == outbox_id)).first()
    return (row[0], row[1]) if row is not None else None


def _confirmed_text(ctx: AppContext, outbox_id: int) -> str | None:
    """The plan's "confirmed" text for the incident of this call (with its code and drill marker), if any."""
    try:
        with ctx.sessions() as session:
            message = session.get(OutboxRow, outbox_id)
            incident = session.get(IncidentRow, message.incident_id) if message and message.incident_id else None
            if message is None or incident is None:
                return None
            plan, _ = snapshot_of(incident)
            facts = IncidentFacts(incident.code, incident.hazard, incident.level, incident.reason, incident.is_drill)
            return render(plan, "confirmed", message.language, facts, when=ctx.clock.now())
    except Exception:  # the built-in text will do: never fail a confirmation over its wording
        log.exception("voice %s: cannot render the 'confirmed' text, using the built-in one", outbox_id)
        return None


def _health_report(ctx: AppContext, head: Callable[[], str | None]) -> dict[str, Any]:
    """Database reachable and schema revision, read on a bare DBAPI connection: on SQLite a SQLAlchemy
    transaction would begin IMMEDIATE and wait behind writers, and a health check must not take the write lock."""
    report: dict[str, Any] = {}
    try:
        raw = ctx.engine.raw_connection()
    except Exception as exc:
        return {"database": {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]},
                "schema": {"ok": False, "error": "database unreachable"}}
    try:
        cursor = raw.cursor()
        try:
            cursor.execute("SELECT 1")
            cursor.fetchall()
            report["database"] = {"ok": True, "dialect": ctx.engine.dialect.name}
        except Exception as exc:
            report["database"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
            report["schema"] = {"ok": False, "error": "database unreachable"}
            return report
        try:
            cursor.execute("SELECT version_num FROM alembic_version")
            current = "+".join(sorted(str(r[0]) for r in cursor.fetchall())) or None
        except Exception:
            current = None
        finally:
            cursor.close()
    finally:
        raw.close()
    wanted = head()
    schema: dict[str, Any] = {"ok": current is not None and current == wanted, "current": current, "head": wanted}
    if current is None:
        schema["error"] = "the database is not set up: run `responder init`"
    elif current != wanted:
        schema["error"] = "run `responder db upgrade`"
    report["schema"] = schema
    return report


def _healthy(report: Mapping[str, Any]) -> bool:
    if report.get("ok") is False:
        return False
    return all(not (isinstance(part, Mapping) and part.get("ok") is False) for part in report.values())


def create_app(ctx: AppContext, health: HealthCheck | None = None) -> Starlette:
    """The ASGI app of ``responder serve``.

    ``health`` reports the state of the parts the app does not own (``responder serve`` passes the scheduler's
    and the dispatcher's): a mapping of part name to details, e.g. ``{"scheduler": {"ok": True, "jobs": 4},
    "dispatcher": {"ok": True, "sent": 12}}``. It is merged into the ``/health`` JSON; a part with ``"ok": False``
    (or a top-level ``"ok": False``, or the callable raising) makes the answer 503.

    Webhook authentication is documented on :class:`SignatureCheck`: with no auth token configured, webhooks
    are refused unless the gateway is "console" or "fake" (local use), which accept them unsigned.
    """
    settings = ctx.settings
    check = SignatureCheck(settings)
    head_cache: list[str | None] = []

    def head() -> str | None:
        if not head_cache:
            from responder.storage.migrate import head_revision

            head_cache.append(head_revision())
        return head_cache[0]

    async def twilio_form(request: Request) -> Form:
        """The verified form: 413 if huge, 403 if not signed by Twilio for this URL, 400 if not a form."""
        body = await _read_body(request)
        form, problem = _parse_form(request, body)
        refusal = check.refusal(request, form)
        if refusal is not None:
            log.warning("refused %s %s from %s: %s", request.method, _path(request), _remote(request), refusal)
            raise _Stop(Response("forbidden\n", status_code=403, media_type="text/plain"))
        if problem is not None:
            raise _bad_request(request, problem)
        return form

    async def status_callback(request: Request) -> Response:
        form = await twilio_form(request)
        is_call = "CallStatus" in form and "MessageStatus" not in form
        sid = _field(request, form, *(("CallSid",) if is_call else ("MessageSid", "SmsSid")), pattern=SID)
        status = _field(request, form, *(("CallStatus",) if is_call else ("MessageStatus", "SmsStatus")))
        assert sid is not None and status is not None
        if is_call:
            status = CALL_STATUS.get(status.strip().lower(), status)
        error_code = _field(request, form, "ErrorCode", pattern=ERROR_CODE, required=False) or None
        outcome = await _run(request, record_delivery, ctx, sid, status, error_code)
        if outcome in ("unknown", "ignored"):
            log.info("status callback %s %s=%r%s: %s", _path(request), sid, status,
                     f" error {error_code}" if error_code else "", outcome)
        else:
            log.debug("status callback %s=%s: %s", sid, status, outcome)
        return Response(status_code=204)

    async def inbound(request: Request) -> Response:
        form = await twilio_form(request)
        from_number = _text_field(request, form, "From", 40)
        to_number = _text_field(request, form, "To", 40)
        sid = _field(request, form, "MessageSid", "SmsSid", pattern=SID)
        body = _field(request, form, "Body")
        assert body is not None
        result = await _run(request, handle_inbound, ctx, from_number, to_number, body, sid)
        log.info("inbound SMS %s: %s (incident %s, person %s)", sid, result.outcome, result.incident_id,
                 result.person_id)
        return _empty_messaging()

    async def voice(request: Request) -> Response:
        await twilio_form(request)
        outbox_id = _outbox_id(request)
        call = await _run(request, _voice_call, ctx, outbox_id)
        if call is None:
            log.warning("voice TwiML for unknown call %s requested from %s", outbox_id, _remote(request))
            return _twiml(hangup_twiml())
        action = gather_url(settings.public_url, outbox_id) or GATHER_PATH.format(outbox_id=outbox_id)
        return _twiml(call_twiml(call[0], call[1], action))

    async def keypress(request: Request) -> Response:
        form = await twilio_form(request)
        outbox_id = _outbox_id(request)
        digits = _field(request, form, "Digits", pattern=DIGITS)
        assert digits is not None
        first_try = request.query_params.get("attempt", "1") == "1"
        call = await _run(request, _voice_call, ctx, outbox_id)
        if call is None:
            log.warning("keypress %r for unknown call %s from %s", digits, outbox_id, _remote(request))
            return _twiml(hangup_twiml())
        body, language = call
        if digits.strip() == "1":
            try:
                result = await _run(request, handle_keypress, ctx, outbox_id, digits)
            except ResponderError as exc:
                log.warning("keypress for call %s: %s", outbox_id, exc)
                return _twiml(hangup_twiml())
            if result is None:
                log.info("keypress 1 for call %s: its incident is no longer open", outbox_id)
                return _twiml(hangup_twiml())
            log.info("keypress 1 for call %s: %s (incident %s, person %s)", outbox_id, result.outcome,
                     result.incident_id, result.person_id)
            text = await _run(request, _confirmed_text, ctx, outbox_id)
            return _twiml(confirmed_twiml(language, text))
        log.info("keypress %r for call %s: not 1, %s", digits, outbox_id,
                 "prompting again" if first_try else "hanging up")
        if not first_try:
            return _twiml(hangup_twiml())
        action = gather_url(settings.public_url, outbox_id) or GATHER_PATH.format(outbox_id=outbox_id)
        return _twiml(call_twiml(body, language, f"{action}?attempt=2", repeats=0))

    async def health_endpoint(request: Request) -> Response:
        report = await run_in_threadpool(_health_report, ctx, head)
        if health is not None:
            try:
                extra = await run_in_threadpool(health)
                report.update(dict(extra))
            except Exception as exc:
                log.exception("health: the health callable failed")
                report["health_error"] = f"{type(exc).__name__}: {exc}"[:300]
                report["ok"] = False
        healthy = _healthy(report)
        report["status"] = "ok" if healthy else "unhealthy"
        return Response(json.dumps(report, default=str, ensure_ascii=False), status_code=200 if healthy else 503,
                        media_type="application/json")

    def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except _Stop as stop:
                return stop.response

        return endpoint

    routes = [
        Route("/twilio/status", guarded(status_callback), methods=["POST"]),
        Route("/twilio/inbound", guarded(inbound), methods=["POST"]),
        Route("/twilio/voice/{outbox_id}", guarded(voice), methods=["GET", "POST"]),
        Route("/twilio/voice/{outbox_id}/gather", guarded(keypress), methods=["POST"]),
        Route("/health", health_endpoint, methods=["GET"]),
        *cap_routes(ctx),
    ]
    return Starlette(routes=routes)
