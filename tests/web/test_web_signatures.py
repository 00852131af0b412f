"""Signed and forged webhooks through the real ASGI app and the real RequestValidator; malformed bodies;
delivery receipts; /health."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select, text
from starlette.datastructures import ImmutableMultiDict
from web_hooks_support import (
    PUBLIC_URL,
    TOKEN,
    AsgiClient,
    SignedClient,
    dispatch,
    snapshot,
    twilio_context,
)

from responder.app.alerts import raise_alert
from responder.gateways.fake import FakeGateway
from responder.storage.models import OutboxRow
from responder.web import create_app
from responder.wiring import AppContext

STATUS = "/twilio/status"
INBOUND = "/twilio/inbound"


@pytest.fixture
def sent(web_ctx: AppContext) -> list[OutboxRow]:
    """A flood alert raised and its call-outs sent through the dispatcher and the fake gateway."""
    raise_alert(web_ctx, "flood", 4, "river rising at Sanjian bridge", by="officer")
    dispatch(web_ctx, FakeGateway(clock=web_ctx.clock))
    with web_ctx.sessions() as session:
        rows = list(session.scalars(select(OutboxRow).where(OutboxRow.sid.is_not(None)).order_by(OutboxRow.id)))
    assert len(rows) >= 3 and all(r.status == "sent" for r in rows)
    return rows


def outbox(ctx: AppContext, outbox_id: int) -> OutboxRow:
    with ctx.sessions() as session:
        row = session.get(OutboxRow, outbox_id)
    assert row is not None
    return row


def receipt(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
            "AccountSid": "AC" + "0" * 32, "To": "+8617400007919", **extra}


# -- signed callbacks -------------------------------------------------------------------------------------------


def test_a_signed_status_callback_updates_the_message(web_ctx: AppContext, twilio: SignedClient,
                                                      sent: list[OutboxRow]) -> None:
    first, second = sent[0], sent[1]
    web_ctx.clock.advance(timedelta(seconds=20))  # type: ignore[attr-defined]
    assert twilio.post(STATUS, receipt(first.sid or "", "delivered")).status_code == 204
    response = twilio.post(STATUS, receipt(second.sid or "", "undelivered", ErrorCode="30003"))
    assert response.status_code == 204

    delivered, undelivered = outbox(web_ctx, first.id), outbox(web_ctx, second.id)
    assert delivered.status == "delivered" and delivered.final_at == web_ctx.clock.now()
    assert undelivered.status == "undelivered" and undelivered.error_code == "30003"
    assert outbox(web_ctx, sent[2].id).status == "sent"


def test_repeated_and_late_callbacks_change_nothing(web_ctx: AppContext, twilio: SignedClient,
                                                    sent: list[OutboxRow]) -> None:
    sid = sent[0].sid or ""
    assert twilio.post(STATUS, receipt(sid, "delivered")).status_code == 204
    before = snapshot(web_ctx, "outbox")
    web_ctx.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    for status in ("delivered", "sent", "queued", "failed"):
        assert twilio.post(STATUS, receipt(sid, status)).status_code == 204
    assert snapshot(web_ctx, "outbox") == before


def test_callbacks_for_unknown_messages_and_statuses_are_ignored(web_ctx: AppContext, twilio: SignedClient,
                                                                 sent: list[OutboxRow],
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    before = snapshot(web_ctx, "outbox")
    with caplog.at_level(logging.INFO, logger="responder.web"):
        assert twilio.post(STATUS, receipt("SM" + "f" * 32, "delivered")).status_code == 204
        assert twilio.post(STATUS, receipt(sent[0].sid or "", "receiving")).status_code == 204
    assert snapshot(web_ctx, "outbox") == before
    assert "unknown" in caplog.text and "ignored" in caplog.text


# -- refused requests -------------------------------------------------------------------------------------------


def test_a_forged_signature_is_refused_logged_and_changes_nothing(web_ctx: AppContext, twilio: SignedClient,
                                                                  sent: list[OutboxRow],
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    before = snapshot(web_ctx, "outbox", "inbound_messages", "recipients", "audit_events")
    forger = SignedClient(twilio.client, token="not-the-token")
    with caplog.at_level(logging.WARNING, logger="responder.web"):
        assert forger.post(STATUS, receipt(sent[0].sid or "", "failed")).status_code == 403
        response = forger.post(INBOUND, {"From": sent[0].to_number, "To": "+8617400000001", "Body": "1",
                                         "MessageSid": "SM" + "1" * 32})
        assert response.status_code == 403
    assert snapshot(web_ctx, "outbox", "inbound_messages", "recipients", "audit_events") == before
    refusals = [r for r in caplog.records if r.levelno == logging.WARNING and "refused" in r.getMessage()]
    assert len(refusals) == 2
    assert STATUS in refusals[0].getMessage() and "203.0.113.7" in refusals[0].getMessage()


def test_an_unsigned_request_is_refused(web_ctx: AppContext, twilio: SignedClient, sent: list[OutboxRow]) -> None:
    before = snapshot(web_ctx, "outbox")
    response = twilio.client.post(STATUS, data=receipt(sent[0].sid or "", "failed"))
    assert response.status_code == 403
    assert twilio.post(STATUS, receipt(sent[0].sid or "", "failed"), signature="").status_code == 403
    assert snapshot(web_ctx, "outbox") == before


@pytest.mark.parametrize("base", ["http://testserver", "https://attacker.example.com",
                                  "http://responder.example.org", PUBLIC_URL + "/prefix"])
def test_a_signature_for_another_url_is_refused(web_ctx: AppContext, twilio: SignedClient, sent: list[OutboxRow],
                                                base: str) -> None:
    before = snapshot(web_ctx, "outbox")
    assert twilio.post(STATUS, receipt(sent[0].sid or "", "failed"), sign_base=base).status_code == 403
    assert snapshot(web_ctx, "outbox") == before


def test_a_signature_over_other_parameters_is_refused(web_ctx: AppContext, twilio: SignedClient,
                                                      sent: list[OutboxRow]) -> None:
    before = snapshot(web_ctx, "outbox")
    genuine = receipt(sent[0].sid or "", "delivered")
    signature = twilio.signature(STATUS, genuine)
    tampered = {**genuine, "MessageStatus": "failed", "SmsStatus": "failed"}
    assert twilio.post(STATUS, tampered, signature=signature).status_code == 403
    assert twilio.post(STATUS, {**genuine, "Extra": "x"}, signature=signature).status_code == 403
    assert snapshot(web_ctx, "outbox") == before
    assert twilio.post(STATUS, genuine, signature=signature).status_code == 204  # the genuine one still works


def test_the_query_string_is_part_of_the_signed_url(twilio: SignedClient) -> None:
    params = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered"}
    signature = twilio.signature(STATUS, params)  # signed without the query string
    assert twilio.client.post(STATUS + "?x=1", data=params, headers={"X-Twilio-Signature": signature}).status_code \
        == 403
    assert twilio.post(STATUS + "?x=1", params).status_code == 204


def test_without_an_auth_token_twilio_webhooks_are_refused(sqlite_ctx: AppContext) -> None:
    ctx = twilio_context(sqlite_ctx, twilio_auth_token=None)
    with AsgiClient(create_app(ctx)) as client:
        signed = SignedClient(client)  # even a "signature" over the right URL cannot be checked
        assert signed.post(STATUS, receipt("SM" + "3" * 32, "delivered")).status_code == 403
        assert client.post(STATUS, data=receipt("SM" + "3" * 32, "delivered")).status_code == 403


def test_without_a_public_url_webhooks_are_refused(sqlite_ctx: AppContext) -> None:
    ctx = twilio_context(sqlite_ctx, public_url=None)
    with AsgiClient(create_app(ctx)) as client:
        assert SignedClient(client).post(STATUS, receipt("SM" + "3" * 32, "delivered")).status_code == 403


@pytest.mark.parametrize("gateway", ["fake", "console"])
def test_local_gateways_without_a_token_accept_unsigned_webhooks(sqlite_ctx: AppContext, gateway: str) -> None:
    ctx = twilio_context(sqlite_ctx, gateway=gateway, twilio_auth_token=None, public_url=None)
    with AsgiClient(create_app(ctx)) as client:
        assert client.post(STATUS, data=receipt("SM" + "3" * 32, "delivered")).status_code == 204
        response = client.post(INBOUND, data={"From": "+8613900000000", "To": "+8617400000001", "Body": "1",
                                              "MessageSid": "SM" + "4" * 32})
        assert response.status_code == 200


def test_a_local_gateway_with_a_token_still_checks_signatures(sqlite_ctx: AppContext) -> None:
    ctx = twilio_context(sqlite_ctx, gateway="fake")
    with AsgiClient(create_app(ctx)) as client:
        assert client.post(STATUS, data=receipt("SM" + "3" * 32, "delivered")).status_code == 403
        assert SignedClient(client).post(STATUS, receipt("SM" + "3" * 32, "delivered")).status_code == 204


# -- malformed bodies -------------------------------------------------------------------------------------------

SID = "SM" + "5" * 32
GOOD_INBOUND = {"From": "+8617400007919", "To": "+8617400000001", "Body": "1", "MessageSid": SID}


@pytest.mark.parametrize(("path", "params"), [
    (STATUS, {"MessageStatus": "delivered"}),
    (STATUS, {"MessageSid": SID}),
    (STATUS, {}),
    (STATUS, {"MessageSid": "SM<script>", "MessageStatus": "delivered"}),
    (STATUS, {"MessageSid": "S" * 65, "MessageStatus": "delivered"}),
    (STATUS, {"MessageSid": SID, "MessageStatus": "delivered", "ErrorCode": "thirty"}),
    (STATUS, {"MessageSid": SID, "MessageStatus": "failed", "ErrorCode": "3" * 30}),
    (STATUS, {"CallStatus": "completed"}),
    (INBOUND, {k: v for k, v in GOOD_INBOUND.items() if k != "From"}),
    (INBOUND, {k: v for k, v in GOOD_INBOUND.items() if k != "Body"}),
    (INBOUND, {k: v for k, v in GOOD_INBOUND.items() if k != "MessageSid"}),
    (INBOUND, {**GOOD_INBOUND, "From": ""}),
    (INBOUND, {**GOOD_INBOUND, "From": "+86" + "1" * 60}),
    (INBOUND, {**GOOD_INBOUND, "From": "+86\n1"}),
    (INBOUND, {**GOOD_INBOUND, "MessageSid": "../../etc"}),
    ("/twilio/voice/abc/gather", {"Digits": "1"}),
    ("/twilio/voice/-1/gather", {"Digits": "1"}),
    ("/twilio/voice/0/gather", {"Digits": "1"}),
    ("/twilio/voice/99999999999999999999/gather", {"Digits": "1"}),
    ("/twilio/voice/1/gather", {}),
    ("/twilio/voice/1/gather", {"Digits": "1; DROP TABLE"}),
    ("/twilio/voice/1.5", {}),
])
def test_malformed_forms_get_400_and_change_nothing(web_ctx: AppContext, twilio: SignedClient,
                                                    sent: list[OutboxRow], caplog: pytest.LogCaptureFixture,
                                                    path: str, params: dict[str, str]) -> None:
    tables = ("outbox", "inbound_messages", "recipients", "audit_events", "acknowledgements")
    before = snapshot(web_ctx, *tables)
    with caplog.at_level(logging.WARNING, logger="responder.web"):
        response = twilio.post(path, params)
    assert response.status_code == 400, response.text
    assert snapshot(web_ctx, *tables) == before
    assert any("malformed" in r.getMessage() and path.split("?")[0] in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("content", "content_type"), [
    (b'{"MessageSid": "SM1", "MessageStatus": "delivered"}', "application/json"),
    (b"MessageSid=SM1&MessageStatus=delivered", None),
    (b"MessageSid=SM1&MessageStatus=delivered", "text/plain"),
    (b"--x\r\nContent-Disposition: form-data; name=\"MessageSid\"\r\n\r\nSM1\r\n--x--\r\n",
     "multipart/form-data; boundary=x"),
    (b"MessageSid=%FF%FE&MessageStatus=delivered", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
    (b"no-equals-sign", "application/x-www-form-urlencoded"),
    (b"&".join(b"f%d=1" % i for i in range(500)), "application/x-www-form-urlencoded"),
])
def test_bodies_that_are_not_forms_get_400(web_ctx: AppContext, twilio: SignedClient, content: bytes,
                                           content_type: str | None) -> None:
    before = snapshot(web_ctx, "outbox", "inbound_messages")
    for path in (STATUS, INBOUND, "/twilio/voice/1/gather"):
        response = twilio.post_raw(path, content, content_type)
        assert response.status_code == 400, (path, response.text)
    assert snapshot(web_ctx, "outbox", "inbound_messages") == before


def test_an_unsigned_malformed_body_is_refused_before_it_is_read(twilio: SignedClient) -> None:
    response = twilio.client.post(STATUS, content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 403


def test_a_huge_body_is_refused(twilio: SignedClient) -> None:
    response = twilio.post(INBOUND, {**GOOD_INBOUND, "Body": "x" * 200_000})
    assert response.status_code == 413


def test_repeated_fields_are_malformed(web_ctx: AppContext, twilio: SignedClient) -> None:
    pairs = [("MessageSid", SID), ("MessageSid", "SM2"), ("MessageStatus", "delivered")]
    body = urlencode(pairs).encode()
    signature = twilio.validator.compute_signature(PUBLIC_URL + STATUS, ImmutableMultiDict(pairs))
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    assert twilio.client.post(STATUS, content=body, headers=headers).status_code == 400
    one_signed = twilio.signature(STATUS, {"MessageSid": SID, "MessageStatus": "delivered"})
    headers["X-Twilio-Signature"] = one_signed  # one value signed, two sent
    assert twilio.client.post(STATUS, content=body, headers=headers).status_code == 403


# -- health -----------------------------------------------------------------------------------------------------


def test_health_reports_the_database_and_schema(web_ctx: AppContext) -> None:
    with AsgiClient(create_app(web_ctx)) as client:
        response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["schema"]["ok"] is True and body["schema"]["current"] == body["schema"]["head"]


def test_health_includes_the_serve_state_and_fails_with_it(web_ctx: AppContext) -> None:
    state: dict[str, Any] = {"scheduler": {"ok": True, "running": True, "jobs": 3},
                             "dispatcher": {"ok": True, "sent": 12}}
    with AsgiClient(create_app(web_ctx, health=lambda: state)) as client:
        ok = client.get("/health")
        state["scheduler"] = {"ok": False, "error": "not the leader"}
        down = client.get("/health")
    assert ok.status_code == 200 and ok.json()["scheduler"]["jobs"] == 3 and ok.json()["dispatcher"]["sent"] == 12
    assert down.status_code == 503 and down.json()["status"] == "unhealthy"
    assert down.json()["scheduler"]["error"] == "not the leader"


def test_health_is_503_when_the_health_callable_fails(web_ctx: AppContext) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("dispatcher thread died")

    with AsgiClient(create_app(web_ctx, health=broken)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert "dispatcher thread died" in response.json()["health_error"]


def test_health_is_503_when_the_schema_is_behind(web_ctx: AppContext) -> None:
    with web_ctx.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    with AsgiClient(create_app(web_ctx)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] is True and body["schema"]["ok"] is False
    assert body["schema"]["current"] == "0001"


def test_health_is_503_without_a_database(tmp_path: Any, web_ctx: AppContext) -> None:
    from responder.domain.clock import FakeClock
    from responder.settings import Settings

    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'missing' / 'nope.db'}",
                        gateway="twilio", twilio_auth_token=TOKEN, public_url=PUBLIC_URL)
    ctx = AppContext(settings, clock=FakeClock())
    try:
        with AsgiClient(create_app(ctx)) as client:
            response = client.get("/health")
    finally:
        ctx.engine.dispose()
    assert response.status_code == 503
    assert response.json()["database"]["ok"] is False


def test_a_database_failure_is_503_not_500(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    from responder.domain.clock import FakeClock
    from responder.settings import Settings

    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'missing' / 'nope.db'}",
                        gateway="twilio", twilio_auth_token=TOKEN, public_url=PUBLIC_URL)
    ctx = AppContext(settings, clock=FakeClock())
    try:
        with AsgiClient(create_app(ctx)) as client, caplog.at_level(logging.ERROR, logger="responder.web"):
            signed = SignedClient(client)
            assert signed.post(INBOUND, GOOD_INBOUND).status_code == 503
            assert signed.post(STATUS, receipt(SID, "delivered")).status_code == 503
    finally:
        ctx.engine.dispose()
    assert "database error" in caplog.text


def test_control_characters_in_the_path_do_not_reach_the_log(twilio: SignedClient,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="responder.web"):
        assert twilio.client.post("/twilio/voice/1%0AFAKE%20LINE/gather", data={"Digits": "1"}).status_code == 403
    assert "\n" not in caplog.records[-1].getMessage()
