"""What the tests that run real responder processes against the local Twilio server share."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from responder.testing import TwilioStubServer

FROM = "+15005550006"
"""Twilio's magic test sender number."""
PUBLIC_URL = "https://responder.example.org"


def process_env(database_url: str, plan: Path, roster: Path, stub: TwilioStubServer,
                *overrides: Mapping[str, object]) -> dict[str, str]:
    """The environment of a real `responder` process on that database and plan, sending to ``stub``.

    Any RESPONDER_/TWILIO_ variable of the test run itself is dropped so that it cannot leak in.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESPONDER_", "TWILIO_"))}
    env.update({
        "RESPONDER_DATABASE_URL": database_url,
        "RESPONDER_PLAN_FILE": str(plan),
        "RESPONDER_ROSTER_FILE": str(roster),
        "RESPONDER_GATEWAY": "twilio",
        "RESPONDER_TWILIO_ACCOUNT_SID": stub.account_sid,
        "RESPONDER_TWILIO_AUTH_TOKEN": stub.auth_token,
        "RESPONDER_TWILIO_FROM_NUMBER": FROM,
        "RESPONDER_TWILIO_API_BASE_URL": stub.url,
        "RESPONDER_PUBLIC_URL": PUBLIC_URL,
        "RESPONDER_SEND_RATE_PER_SECOND": "0",
        "PYTHONUNBUFFERED": "1",
    })
    for extra in overrides:
        env.update({k: str(v) for k, v in extra.items()})
    return env


LISTENING = re.compile(r"Uvicorn running on http://([\d.]+):(\d+)")
"""The line `responder serve` logs once it listens: where to find a worker started on port 0."""
T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float, what: str, every: float = 0.02) -> T:
    """Poll until ``condition()`` is truthy and return it; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)
