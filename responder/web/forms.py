"""Reading what a provider posts to the web hooks: a bounded body, a strict form, each field checked.

Anything else is answered at once with a :class:`Stop` (400, 403, 413, 503) and a line in the log, never a 500.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

log = logging.getLogger("responder.web")
"""One logger for every web hook module."""

T = TypeVar("T")
Form = ImmutableMultiDict[str, str]
Handler = Callable[[Request], Awaitable[Response]]

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 128 * 1024
"""Far above anything Twilio sends (a 1600-character Chinese SMS is under 15 kB encoded)."""
MAX_FIELDS = 200
MAX_OUTBOX_ID = 2**31 - 1

SID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ERROR_CODE = re.compile(r"^(\d{1,10})?$")
DIGITS = re.compile(r"^[0-9*#]{0,32}$")
OUTBOX_ID = re.compile(r"^[0-9]{1,10}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Stop(Exception):
    """Answer the request with ``response`` now (bad input, refused signature, database down)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def guarded(handler: Handler) -> Handler:
    """``handler``, answering with the response of any :class:`Stop` it raises."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except Stop as stop:
            return stop.response

    return endpoint


def path_of(request: Request) -> str:
    """The request path for the log, control characters (a percent-encoded newline...) made harmless."""
    return CONTROL.sub("?", request.url.path)[:200]


def remote(request: Request) -> str:
    host = request.client.host if request.client else "?"
    forwarded = request.headers.get("x-forwarded-for")
    return f"{host} (forwarded for {forwarded!r})" if forwarded else host


def bad_request(request: Request, why: str) -> Stop:
    log.warning("malformed %s %s from %s: %s", request.method, path_of(request), remote(request), why)
    return Stop(Response(f"bad request: {why}\n", status_code=400, media_type="text/plain"))


def forbidden() -> Stop:
    return Stop(Response("forbidden\n", status_code=403, media_type="text/plain"))


async def read_body(request: Request) -> bytes:
    def too_large() -> Stop:
        log.warning("%s %s from %s: body over %d bytes refused", request.method, path_of(request), remote(request),
                    MAX_BODY_BYTES)
        return Stop(Response("request body too large\n", status_code=413, media_type="text/plain"))

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
        raise Stop(Response(status_code=400)) from None
    return b"".join(chunks)


def parse_form(request: Request, body: bytes) -> tuple[Form, str | None]:
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


def field(request: Request, form: Form, *names: str, pattern: re.Pattern[str] | None = None,
          required: bool = True) -> str | None:
    """The first of ``names`` present in the form; 400 if required and missing, or not matching ``pattern``."""
    for name in names:
        values = form.getlist(name)
        if not values:
            continue
        if len(values) > 1:
            raise bad_request(request, f"{name} given {len(values)} times")
        value = values[0]
        if pattern is not None and not pattern.match(value):
            raise bad_request(request, f"{name} is not valid: {value[:40]!r}")
        return value
    if required:
        raise bad_request(request, f"missing {' or '.join(names)}")
    return None


def required_field(request: Request, form: Form, *names: str, pattern: re.Pattern[str] | None = None) -> str:
    """A field that must be there (400 if not)."""
    value = field(request, form, *names, pattern=pattern)
    assert value is not None
    return value


def text_field(request: Request, form: Form, name: str, max_length: int) -> str:
    value = required_field(request, form, name)
    if not value.strip() or len(value) > max_length or CONTROL.search(value):
        raise bad_request(request, f"{name} is not valid: {value[:40]!r}")
    return value.strip()


def outbox_id(request: Request) -> int:
    raw = str(request.path_params.get("outbox_id", ""))
    if not OUTBOX_ID.match(raw) or not 0 < int(raw) <= MAX_OUTBOX_ID:
        raise bad_request(request, f"outbox id {raw[:40]!r} is not a number")
    return int(raw)


async def run(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """Run blocking database work off the event loop; a database that fails answers 503 (Twilio may retry)."""
    try:
        return await run_in_threadpool(fn, *args)
    except (DBAPIError, PoolTimeout):
        log.exception("%s %s: database error", request.method, path_of(request))
        raise Stop(Response("database unavailable\n", status_code=503, media_type="text/plain")) from None
