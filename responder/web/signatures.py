"""Who may call the ``/twilio/*`` hooks: requests Twilio signed for our public URL, checked with the SDK's
``RequestValidator``; unsigned, forged or mis-addressed requests get 403 and change nothing."""

from __future__ import annotations

from collections.abc import Callable

import twilio.request_validator as twilio_signature
from starlette.requests import Request
from twilio.request_validator import RequestValidator

from responder.settings import Settings
from responder.web.forms import Form, bad_request, forbidden, log, parse_form, path_of, read_body, remote

SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
OPEN_GATEWAYS = ("console", "fake")
"""Gateways for local use: with no auth token configured, their webhooks are accepted unsigned."""


def accepts_unsigned(settings: Settings) -> bool:
    """Whether webhooks would be accepted unsigned (a local gateway and no auth token): ``serve`` then warns, and
    listens on the loopback interface only."""
    return not settings.twilio_auth_token and settings.gateway in OPEN_GATEWAYS


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
        self.open = self.validator is None and accepts_unsigned(settings)
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

    async def form(self, request: Request) -> Form:
        """The verified form: 413 if huge, 403 if not signed by Twilio for this URL, 400 if not a form."""
        body = await read_body(request)
        params, problem = parse_form(request, body)
        refusal = self.refusal(request, params)
        if refusal is not None:
            log.warning("refused %s %s from %s: %s", request.method, path_of(request), remote(request), refusal)
            raise forbidden()
        if problem is not None:
            raise bad_request(request, problem)
        return params
