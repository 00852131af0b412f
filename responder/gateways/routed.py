"""One gateway per route and channel, as the plan's ``messaging`` section says: +86 numbers through a domestic
provider, the others through Twilio, group chats through their robots. To the dispatcher it is one gateway."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from responder.domain.routes import Messaging
from responder.gateways.base import (
    Accepted,
    Gateway,
    GatewayError,
    OutgoingCall,
    OutgoingSms,
    PermanentError,
    SentRecord,
)

ROBOT_PREFIX = "robot:"
"""A group chat's outbox rows are addressed ``robot:<name>``."""


class RoutedGateway:
    name = "routed"

    def __init__(self, messaging: Messaging, gateways: Mapping[str, Gateway], robots: Gateway | None = None) -> None:
        self.messaging = messaging
        self.gateways = dict(gateways)
        self.robots = robots
        limits = [g.batch_limit for g in self.gateways.values() if g.batch_limit > 0]
        self.batch_limit = max(limits, default=0)
        # One transaction for claim, hand-over and record only if no gateway behind it sends out of the process.
        self.in_process = all(g.in_process for g in (*self.gateways.values(), *([robots] if robots else [])))

    def _for(self, to: str, channel: str) -> Gateway:
        if to.startswith(ROBOT_PREFIX):
            if self.robots is None:
                raise PermanentError(f"{to}: no group chat robot is configured")
            return self.robots
        name = self.messaging.gateway_for(to, channel)
        if name is None or name not in self.gateways:
            raise PermanentError(f"no route in the plan's messaging.routes for {to} ({channel})")
        return self.gateways[name]

    def send_sms(self, message: OutgoingSms) -> Accepted:
        return self._for(message.to, "sms").send_sms(message)

    def send_batch(self, messages: Sequence[OutgoingSms]) -> list[Accepted | GatewayError]:
        """Each route's messages to its gateway: in its batches if it has them, else one at a time; in order."""
        outcomes: dict[int, Accepted | GatewayError] = {}
        groups: dict[int, tuple[Gateway, list[int]]] = {}
        for i, message in enumerate(messages):
            try:
                gateway = self._for(message.to, "sms")
            except GatewayError as exc:
                outcomes[i] = exc
                continue
            groups.setdefault(id(gateway), (gateway, []))[1].append(i)
        for gateway, indexes in groups.values():
            size = gateway.batch_limit
            for start in range(0, len(indexes), size or 1):
                chunk = indexes[start:start + size] if size else indexes[start:start + 1]
                answers: list[Accepted | GatewayError]
                try:
                    answers = (gateway.send_batch([messages[i] for i in chunk]) if size
                               else [gateway.send_sms(messages[chunk[0]])])
                except GatewayError as exc:
                    answers = [exc for _ in chunk]
                outcomes.update(zip(chunk, answers, strict=True))
        return [outcomes[i] for i in range(len(messages))]

    def place_call(self, call: OutgoingCall) -> Accepted:
        return self._for(call.to, "voice").place_call(call)

    def sent_since(self, to: str, since: datetime) -> list[SentRecord] | None:
        try:
            return self._for(to, "sms").sent_since(to, since)
        except GatewayError:
            return None

    def close(self) -> None:
        """Release each gateway's connections (those that pool them)."""
        for gateway in [*self.gateways.values(), *([self.robots] if self.robots else [])]:
            close = getattr(gateway, "close", None)
            if callable(close):
                close()
