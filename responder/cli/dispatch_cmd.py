"""``responder dispatch``: the outbox worker on its own."""

from __future__ import annotations

from typing import Annotated

import typer

from responder.cli.common import app_context, console


def dispatch(
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then exit.")] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between looks at an empty outbox.")] = 1.0,
) -> None:
    import logging
    import signal
    import threading

    from responder.gateways.factory import make_gateway
    from responder.worker.dispatcher import Dispatcher
    from responder.worker.outage import DatabaseWatch

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = app_context()
    ctx.require_schema()
    gateway = make_gateway(ctx.settings, ctx.clock, ctx.plan.messaging)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    out = console(stderr=True)
    out.print(f"dispatching through the {gateway.name} gateway" + ("" if once else "; Ctrl-C to stop"))
    # A worker rides out a lost database (one line when it goes, one when it is back); `--once` is a command: the
    # error boundary says what is wrong in one line instead.
    watch = DatabaseWatch(ctx.settings.database_url, ctx.settings.database_retry_max_seconds)
    while not stop.is_set():
        dispatcher = Dispatcher(ctx, gateway, concurrency=ctx.settings.send_concurrency, watch=watch)
        try:
            stats = dispatcher.drain(stop=stop)
        except Exception as exc:
            wait = None if once else watch.failed(exc, "the dispatcher's pass")
            if wait is None:
                raise
            stop.wait(wait)
            continue
        watch.ok()
        if stats.processed:
            out.print(f"sent {stats.sent}, failed {stats.failed}, retry later {stats.retried}")
        if once:
            break
        stop.wait(poll)
