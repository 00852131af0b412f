"""A local server answering as WeCom (企业微信) and DingTalk group robot webhooks do, for the robots gateway.

WeCom: ``POST /cgi-bin/webhook/send?key=KEY``; DingTalk: ``POST /robot/send?access_token=TOKEN&timestamp=MS&sign=S``,
the signature checked as DingTalk documents it (HMAC-SHA256 of "timestamp\\nsecret", base64, within an hour). Both
take ``{"msgtype": "text", "text": {"content": ...}}`` and answer ``{"errcode": 0, "errmsg": "ok"}``; an unknown key
is WeCom 93000 / DingTalk 300001, a bad signature 310000, more than 20 messages a minute 45009 / 410100.
Received messages are in ``received`` (robot key or token, text). Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from responder.testing.json_stub import JsonStub


@dataclass
class RobotStubServer(JsonStub):
    wecom_keys: set[str] = field(default_factory=set)
    dingtalk: dict[str, str] = field(default_factory=dict)
    """DingTalk access tokens and their signing secrets."""
    per_minute: int = 20
    clock: Callable[[], float] = time.time
    received: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, list[float]] = {}

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        return 200, self._answer(target, body)

    def _answer(self, target: str, body: bytes) -> dict[str, Any]:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query))
        try:
            content = json.loads(body)["text"]["content"]
        except (ValueError, KeyError, TypeError):
            return {"errcode": 40008, "errmsg": "invalid message type"}
        if parts.path == "/cgi-bin/webhook/send":
            who = query.get("key", "")
            if who not in self.wecom_keys:
                return {"errcode": 93000, "errmsg": "invalid webhook url"}
            busy = 45009
        elif parts.path == "/robot/send":
            who = query.get("access_token", "")
            if who not in self.dingtalk:
                return {"errcode": 300001, "errmsg": "token is not exist"}
            if not self._signed(self.dingtalk[who], query):
                return {"errcode": 310000, "errmsg": "sign not match"}
            busy = 410100
        else:
            return {"errcode": 404, "errmsg": "no such robot API"}
        with self._lock:
            now = self.clock()
            recent = [t for t in self._times.get(who, []) if now - t < 60]
            if len(recent) >= self.per_minute:
                return {"errcode": busy, "errmsg": "send too fast, exceed 20 times per minute"}
            self._times[who] = [*recent, now]
            self.received.append((who, str(content)))
        return {"errcode": 0, "errmsg": "ok"}

    def _signed(self, secret: str, query: dict[str, str]) -> bool:
        stamp = query.get("timestamp", "")
        if not stamp.isdigit() or abs(self.clock() * 1000 - int(stamp)) > 3600_000:
            return False
        digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), query.get("sign", ""))
