"""Group chat robots: a WeCom (企业微信) or DingTalk group robot's webhook per group, as the plan configures.

An outbox row addressed ``robot:<name>`` is the group's chat message, sent like any SMS (claimed, sent, recorded,
reconciled after a crash as "cannot tell": sent again). Both providers allow a robot 20 messages a minute: past that,
this gateway does not call them but answers RetryableError, and the dispatcher tries again later; their own
"too fast" answers (WeCom 45009, DingTalk 410100) are retryable too. DingTalk robots with 加签 get ``timestamp`` and
``sign`` (HMAC-SHA256 of "timestamp\\nsecret", base64) on the address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections import deque
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from responder.domain.clock import Clock, SystemClock
from responder.domain.routes import Robot
from responder.gateways.base import (
    Accepted,
    OneAtATime,
    OutgoingCall,
    OutgoingSms,
    PermanentError,
    RetryableError,
    SentRecord,
)

PER_MINUTE = 20
RETRYABLE_CODES = frozenset({45009, 410100, -1})
"""WeCom: API frequency over the limit; DingTalk: sent too fast; both: system busy."""


class RobotGateway(OneAtATime):
    name = "robots"

    def __init__(self, robots: Mapping[str, Robot], webhooks: Mapping[str, str], secrets: Mapping[str, str], *,
                 base_url: str | None = None, clock: Clock | None = None, timeout: float = 10) -> None:
        self.robots = dict(robots)
        self.webhooks = dict(webhooks)
        self.secrets = dict(secrets)
        self.base_url = base_url
        self.clock = clock or SystemClock()
        self._sent: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=timeout)

    def send_sms(self, message: OutgoingSms) -> Accepted:
        name = message.to.removeprefix("robot:")
        robot, webhook = self.robots.get(name), self.webhooks.get(name)
        if robot is None or webhook is None:
            raise PermanentError(f"robot {name!r} is not configured (plan messaging.robots and its webhook address)")
        self._take_slot(name)
        url = self._address(robot, name, webhook)
        try:
            response = self._http.post(url, json={"msgtype": "text", "text": {"content": message.body}})
        except httpx.TimeoutException as exc:
            raise RetryableError(f"{robot.provider} robot {name}: timed out: {exc}") from exc
        except httpx.HTTPError as exc:
            raise RetryableError(f"{robot.provider} robot {name}: connection failed: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableError(f"{robot.provider} robot {name}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(f"{robot.provider} robot {name}: HTTP {response.status_code}")
        try:
            answer = response.json()
            code = int(answer.get("errcode", -1))
        except (ValueError, AttributeError) as exc:
            raise RetryableError(f"{robot.provider} robot {name}: not a JSON answer") from exc
        if code == 0:
            return Accepted(sid=f"robot:{name}:{message.reference or id(message)}", status="delivered")
        error = RetryableError if code in RETRYABLE_CODES else PermanentError
        raise error(f"{robot.provider} robot {name}: {code} {answer.get('errmsg', '')}", code=str(code))

    def _take_slot(self, name: str) -> None:
        """At most 20 messages a minute per robot: the 21st is refused here, to be tried again after the window."""
        now = self.clock.now()
        with self._lock:
            sent = self._sent.setdefault(name, deque())
            while sent and now - sent[0] >= timedelta(minutes=1):
                sent.popleft()
            if len(sent) >= PER_MINUTE:
                wait = timedelta(minutes=1) - (now - sent[0])
                raise RetryableError(f"robot {name}: {PER_MINUTE} messages a minute already; free in "
                                     f"{wait.total_seconds():.0f} s", code="RATE_LIMIT")
            sent.append(now)

    def _address(self, robot: Robot, name: str, webhook: str) -> str:
        url = webhook
        if self.base_url:  # tests: the same path and query on the local stub
            parts = urlsplit(webhook)
            base = urlsplit(self.base_url)
            url = urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))
        secret = self.secrets.get(name)
        if robot.provider == "dingtalk" and secret:
            stamp = str(int(self.clock.now().timestamp() * 1000))
            digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
            url += f"&timestamp={stamp}&sign={quote(base64.b64encode(digest).decode(), safe='')}"
        return url

    def place_call(self, call: OutgoingCall) -> Accepted:
        raise PermanentError("a group chat robot takes no calls")

    def sent_since(self, to: str, since: datetime) -> list[SentRecord] | None:
        return None  # the robots keep no history we can ask

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RobotGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
