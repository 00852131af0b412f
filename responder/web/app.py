"""The ASGI app ``responder serve`` runs under uvicorn: the web hooks Twilio calls, and ``GET /health``.

Routes, each in a module of its own:

* :mod:`responder.web.sms_hooks`: ``POST /twilio/status`` (delivery status of messages and calls) and
  ``POST /twilio/inbound`` (SMS replies);
* :mod:`responder.web.voice_hooks`: ``POST|GET /twilio/voice/{outbox_id}`` (a call's TwiML) and
  ``POST /twilio/voice/{outbox_id}/gather`` (the keypress);
* :mod:`responder.web.health`: ``GET /health``;
* :mod:`responder.web.cap_feed`: ``GET /cap/feed.atom``, ``GET /cap/{identifier}.xml`` (the public warnings);
* :mod:`responder.web.metrics`: ``GET /metrics`` (Prometheus) and ``GET /healthz``, read from the database;
* :mod:`responder.web.auth`: ``GET|POST /login``, ``POST /logout``, and the gate (:class:`BoardGate`) in front of
  everything else: sign-in, roles and CSRF for the duty board. The paths above are outside it;
* :mod:`responder.web.board`: the duty board at ``/`` (pages, the officer's actions, live updates), behind the gate.

Every ``/twilio/*`` request must carry a valid ``X-Twilio-Signature``, checked with the SDK's
``RequestValidator`` against the *public* URL (``settings.public_url`` + path + query string), never the host
the request reached internally (:mod:`responder.web.signatures`). Unsigned, forged or mis-addressed requests get
403, a warning in the log, and nothing is changed. Bodies that are not what Twilio sends get 400 (or 200 where
Twilio could do nothing better, e.g. a callback for a message we do not know), are logged, and never cause a 500
(:mod:`responder.web.forms`).

Twilio is imported here (and in ``responder.gateways.twilio``) only: ``responder serve`` is the only command
that loads this package.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware

from responder.app.board_users import configured_secret
from responder.app.ports import Context
from responder.web import alibaba_hooks, board, metrics, sms_hooks, voice_hooks
from responder.web import health as health_hook
from responder.web.auth import BoardGate, login_routes
from responder.web.cap_feed import cap_routes
from responder.web.health import HealthCheck
from responder.web.signatures import SignatureCheck


def create_app(ctx: Context, health: HealthCheck | None = None) -> Starlette:
    """The ASGI app of ``responder serve``.

    ``health`` reports the state of the parts the app does not own (``responder serve`` passes the scheduler's
    and the dispatcher's): a mapping of part name to details, e.g. ``{"scheduler": {"ok": True, "jobs": 4},
    "dispatcher": {"ok": True, "sent": 12}}``. It is merged into the ``/health`` JSON; a part with ``"ok": False``
    (or a top-level ``"ok": False``, or the callable raising) makes the answer 503.

    Webhook authentication is documented on :class:`SignatureCheck`: with no auth token configured, webhooks
    are refused unless the gateway is "console" or "fake" (local use), which accept them unsigned.
    """
    check = SignatureCheck(ctx.settings)
    configured_secret(ctx)  # a session secret too short to sign with stops serve here, not each request
    live = board.Broadcaster(ctx)
    board_routes, pages = board.routes(ctx, live)
    app = Starlette(routes=[*sms_hooks.routes(ctx, check), *voice_hooks.routes(ctx, check),
                            *health_hook.routes(ctx, health), *cap_routes(ctx), *metrics.routes(ctx),
                            *login_routes(ctx), *alibaba_hooks.routes(ctx), *board_routes],
                    middleware=[Middleware(BoardGate, ctx=ctx)], exception_handlers={404: pages.http_error})
    app.state.board_live = live  # `serve` ends the boards' event streams when it stops
    return app
