"""``responder serve``: the long-running process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from responder.cli.common import app_context, console

if TYPE_CHECKING:
    from responder.settings import Settings


def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (default RESPONDER_HTTP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default RESPONDER_HTTP_PORT; 0 picks a free one).")]
    = None,
    no_scheduler: Annotated[bool, typer.Option("--no-scheduler", help="Never take the scheduler lease.")] = False,
    no_dispatcher: Annotated[bool, typer.Option("--no-dispatcher", help="Do not send from the outbox.")] = False,
    lease_ttl: Annotated[float | None, typer.Option(help="Seconds a scheduler lease lasts without renewal "
                                                  "(default RESPONDER_LEASE_TTL_SECONDS, 30).")] = None,
) -> None:
    import logging

    import uvicorn

    from responder.gateways.factory import make_gateway
    from responder.web.app import create_app
    from responder.worker.service import Service

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = app_context()
    _refuse_open_webhooks_beyond_loopback(ctx.settings, host or ctx.settings.http_host,
                                          "--host" if host else "RESPONDER_HTTP_HOST")
    ctx.require_schema()
    ttl = lease_ttl if lease_ttl is not None else ctx.settings.lease_ttl_seconds
    service = Service(ctx, make_gateway(ctx.settings, ctx.clock, ctx.plan.messaging), scheduler=not no_scheduler,
                      dispatcher=not no_dispatcher, lease_ttl=ttl, renew_every=max(0.5, ttl / 6))
    app = create_app(ctx, health=service.health)
    config = uvicorn.Config(app, host=host or ctx.settings.http_host,
                            port=port if port is not None else ctx.settings.http_port, log_level="info",
                            lifespan="off", timeout_graceful_shutdown=5)  # open boards' event streams never end
    class BoardServer(uvicorn.Server):
        async def shutdown(self, sockets: list[Any] | None = None) -> None:
            await app.state.board_live.close()  # open boards' event streams end, and the shutdown need not wait
            await super().shutdown(sockets)

    server = BoardServer(config)
    import signal

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(0)  # a requested, clean stop

    # uvicorn handles SIGTERM, shuts down, then re-raises it; with this handler that ends in the
    # `finally` below (lease released, dispatcher stopped) instead of killing the process there.
    signal.signal(signal.SIGTERM, _exit)
    service.start()
    out = console(stderr=True)
    where = f"http://{config.host}:{config.port}" if config.port else f"a free port of {config.host}"
    out.print(f"responder serve: worker {service.worker_id} on {where} "
              f"(scheduler {'off' if no_scheduler else 'on lease'}, dispatcher {'off' if no_dispatcher else 'on'})")
    try:
        server.run()  # returns on Ctrl-C or SIGTERM (uvicorn handles both)
    finally:
        out.print("stopping: finishing the messages in hand, releasing the scheduler lease")
        service.stop()


def _refuse_open_webhooks_beyond_loopback(settings: Settings, host: str, option: str) -> None:
    """With the console (or fake) gateway and no Twilio auth token, anyone who can reach the hooks can confirm for
    anybody: say so loudly, and never listen beyond this machine that way."""
    from responder.domain.errors import InputError, Problem
    from responder.web.signatures import accepts_unsigned

    if not accepts_unsigned(settings):
        return
    if not _loopback(host):
        raise InputError(Problem(f"refusing to listen on {host}: with the {settings.gateway} gateway and no "
                                 "RESPONDER_TWILIO_AUTH_TOKEN, webhooks (confirmations!) are accepted unsigned; "
                                 "listen on 127.0.0.1, or use the twilio gateway with its auth token", field=option))
    console(stderr=True).print(
        f"[bold red]WARNING[/bold red]: the {settings.gateway} gateway with no RESPONDER_TWILIO_AUTH_TOKEN: "
        f"webhooks are accepted UNSIGNED (anyone reaching {host} can confirm for anybody); for local use only")


def _loopback(host: str) -> bool:
    import ipaddress

    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name that may resolve anywhere
