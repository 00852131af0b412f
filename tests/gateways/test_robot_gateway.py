"""Group chat robots (WeCom, DingTalk) through httpx against a local server that answers as theirs do: 20 messages a
minute per robot, DingTalk's signature, their error codes; and a call-out's copy to the group chat through the
outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cn_support import cn_context, stubs
from sqlalchemy import select

from responder.app.alerts import change_level, end_alert, raise_alert
from responder.domain.clock import FakeClock
from responder.domain.routes import Robot
from responder.gateways.base import Accepted, OutgoingSms, PermanentError, RetryableError
from responder.gateways.factory import make_gateway
from responder.gateways.robots import RobotGateway
from responder.gateways.routed import RoutedGateway
from responder.storage.models import OutboxRow
from responder.testing.robot_server import RobotStubServer
from responder.worker.dispatcher import Dispatcher

ROBOTS = {"office": Robot(provider="wecom", group="office"), "rescue": Robot(provider="dingtalk", group="rescue")}


@pytest.fixture
def server(clock: FakeClock) -> Iterator[RobotStubServer]:
    with RobotStubServer(wecom_keys={"k-office"}, dingtalk={"t-rescue": "SECabc"},
                         clock=lambda: clock.now().timestamp()) as s:
        yield s


def robots(server: RobotStubServer, clock: FakeClock, secret: str = "SECabc") -> RobotGateway:
    return RobotGateway(ROBOTS, {"office": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-office",
                                 "rescue": "https://oapi.dingtalk.com/robot/send?access_token=t-rescue"},
                        {"rescue": secret}, base_url=server.url, clock=clock)


def message(robot: str, n: int = 0) -> OutgoingSms:
    return OutgoingSms(f"robot:{robot}", f"三建乡防汛办通知 {n}", reference=str(n))


@pytest.mark.parametrize("robot", ["office", "rescue"])
def test_twenty_a_minute_then_later(server: RobotStubServer, clock: FakeClock, robot: str) -> None:
    with robots(server, clock) as gateway:
        twenty_then_later(server, clock, gateway, robot)


def twenty_then_later(server: RobotStubServer, clock: FakeClock, gateway: RobotGateway, robot: str) -> None:
    for n in range(20):
        assert isinstance(gateway.send_sms(message(robot, n)), Accepted)
        clock.advance(timedelta(seconds=1))
    with pytest.raises(RetryableError, match="20 messages a minute") as refused:
        gateway.send_sms(message(robot, 20))
    assert refused.value.code == "RATE_LIMIT" and len(server.received) == 20  # not even asked
    clock.advance(timedelta(seconds=41))
    assert isinstance(gateway.send_sms(message(robot, 21)), Accepted)
    assert [text for _, text in server.received][-1] == "三建乡防汛办通知 21"


def test_providers_too_fast_is_retryable_and_bad_keys_are_not(server: RobotStubServer, clock: FakeClock) -> None:
    server.per_minute = 1
    with robots(server, clock) as gateway, robots(server, clock) as other, \
            robots(server, clock, secret="SECwrong") as wrong:
        other.send_sms(message("office"))  # another process sent the first one
        with pytest.raises(RetryableError, match="45009"):
            gateway.send_sms(message("office"))
        with pytest.raises(PermanentError, match="310000"):
            wrong.send_sms(message("rescue"))
        with pytest.raises(PermanentError, match="not configured"):
            gateway.send_sms(message("nobody"))


def test_a_callout_reaches_the_group_chat_through_the_outbox(tmp_path: Path, clock: FakeClock,
                                                             server: RobotStubServer) -> None:
    with stubs() as (alibaba, twilio):
        ctx = cn_context(f"sqlite:///{tmp_path / 'r.db'}", clock, tmp_path, alibaba, twilio,
                         change={"robots": {"office": {"provider": "wecom", "group": "office"}}},
                         robot_webhooks={"office": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-office"},
                         robot_api_base_url=server.url)
        incident = raise_alert(ctx, "flood", 2, "长河水位超警戒", by="duty officer", is_drill=True).incident_id
        gateway = make_gateway(ctx.settings, ctx.clock, ctx.plan.messaging)
        assert isinstance(gateway, RoutedGateway)
        Dispatcher(ctx, gateway, concurrency=1).drain()
        change_level(ctx, incident, 1, "上游溃坝", by="duty officer")
        Dispatcher(ctx, gateway, concurrency=1).drain()
        end_alert(ctx, incident, "洪水退去", by="duty officer")
        Dispatcher(ctx, gateway, concurrency=1).drain()
        gateway.close()
    with ctx.sessions() as session:
        rows = session.scalars(select(OutboxRow).where(OutboxRow.incident_id == incident,
                                                       OutboxRow.channel == "robot").order_by(OutboxRow.id)).all()
    assert [(r.to_number, r.status, r.kind) for r in rows] == [
        ("robot:office", "sent", kind) for kind in ("callout", "upgrade", "standdown")]
    assert [key for key, _ in server.received] == ["k-office"] * 3
    assert [text for _, text in server.received] == [r.body for r in rows]
    assert all(text.startswith("【演练】") for _, text in server.received)  # free text: the plan's own marker
