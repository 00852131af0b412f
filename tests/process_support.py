"""What the tests that run real responder processes against the local Twilio server share."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

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


def fast_escalation(plan: Path, level: int, steps: list[dict[str, Any]], confirm_within: str = "3s") -> None:
    """Rewrite one level's escalation policy in a copy of the plan: steps seconds apart instead of minutes."""
    data = yaml.safe_load(plan.read_text(encoding="utf-8"))
    policies = [p for p in data["escalation_policy"] if p["level"] != level]
    policies.append({"level": level, "confirm_within": confirm_within, "steps": steps, "repeat": 0})
    data["escalation_policy"] = policies
    plan.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


class LoggedProcess:
    """A `responder` process whose output goes to ``log_path``; subclasses give ``name``, ``proc``, ``log_path``
    and ``base_url`` (set by :meth:`wait_listening`)."""

    kind = "process"
    name: str
    proc: subprocess.Popen[bytes] | None
    log_path: Path
    base_url: str | None

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_listening(self, timeout: float = 20) -> str:
        """For `serve`: the URL uvicorn reports once it listens (started with --port 0)."""

        def listening() -> str | None:
            assert self.alive, f"{self.kind} {self.name} exited:\n{self.log}"
            match = LISTENING.search(self.log)
            return f"http://{match[1]}:{match[2]}" if match else None

        self.base_url = wait_for(listening, timeout, f"{self.kind} {self.name} to listen")
        return self.base_url

    def health(self) -> dict[str, Any]:
        assert self.base_url, "not listening yet"
        data: dict[str, Any] = httpx.get(f"{self.base_url}/health", timeout=5).json()
        return data
