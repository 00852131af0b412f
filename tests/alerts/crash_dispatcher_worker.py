"""A dispatcher process for the crash test: sends the outbox of a database through the real twilio SDK to a local
Twilio server until it is killed. Not a test module; tests/alerts/test_dispatcher_crash.py runs it.

usage: python crash_dispatcher_worker.py DATABASE_URL PLAN ROSTER API_BASE_URL ACCOUNT_SID AUTH_TOKEN FROM WORKER_ID
"""

from __future__ import annotations

import sys
from pathlib import Path

from responder.gateways.twilio.gateway import TwilioGateway
from responder.settings import Settings
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher
from responder.worker.rate_limit import Unlimited


def main(argv: list[str]) -> None:
    url, plan, roster, api, sid, token, sender, worker_id = argv
    settings = Settings(_env_file=None, database_url=url, plan_file=Path(plan),  # type: ignore[call-arg]
                        roster_file=Path(roster), gateway="twilio", twilio_account_sid=sid, twilio_auth_token=token,
                        twilio_from_number=sender, twilio_api_base_url=api)
    ctx = AppContext(settings)
    ctx.require_schema()
    gateway = TwilioGateway(sid, token, from_number=sender, api_base_url=api, timeout=10)
    dispatcher = Dispatcher(ctx, gateway, limiter=Unlimited(), worker_id=worker_id, concurrency=4)
    print("dispatching", flush=True)
    stats = dispatcher.drain()
    print(f"drained: sent {stats.sent}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
