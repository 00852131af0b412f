"""Choosing the gateway from settings, and refusing a half-configured Twilio with every gap named."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from responder.domain.clock import FakeClock
from responder.domain.errors import InputError
from responder.gateways.console import ConsoleGateway
from responder.gateways.factory import make_gateway
from responder.gateways.fake import FakeGateway
from responder.gateways.twilio.gateway import TwilioGateway
from responder.settings import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_console_is_the_default_and_fake_is_available(clock: FakeClock) -> None:
    assert isinstance(make_gateway(settings()), ConsoleGateway)
    fake = make_gateway(settings(gateway="fake"), clock)
    assert isinstance(fake, FakeGateway) and fake.clock is clock


def test_twilio_without_settings_names_every_missing_one() -> None:
    with pytest.raises(InputError) as caught:
        make_gateway(settings(gateway="twilio"))
    fields = [p.field for p in caught.value.problems]
    assert fields == ["RESPONDER_TWILIO_ACCOUNT_SID", "RESPONDER_TWILIO_AUTH_TOKEN", "RESPONDER_TWILIO_FROM_NUMBER"]
    assert "RESPONDER_TWILIO_MESSAGING_SERVICE_SID" in str(caught.value)


def test_twilio_with_an_empty_token_is_still_missing_it() -> None:
    with pytest.raises(InputError) as caught:
        make_gateway(settings(gateway="twilio", twilio_account_sid="AC1", twilio_auth_token=SecretStr(""),
                              twilio_messaging_service_sid="MG1"))
    assert [p.field for p in caught.value.problems] == ["RESPONDER_TWILIO_AUTH_TOKEN"]


def test_twilio_gets_its_settings_and_the_status_callback_url() -> None:
    gateway = make_gateway(settings(gateway="twilio", twilio_account_sid="AC1", twilio_auth_token="secret",
                                    twilio_from_number="+15005550006", twilio_api_base_url="http://127.0.0.1:9/",
                                    public_url="https://responder.example/"))
    assert isinstance(gateway, TwilioGateway)
    try:
        assert gateway.status_callback == "https://responder.example/twilio/status"
        assert gateway.from_number == "+15005550006"
        assert gateway.client.api.base_url == "http://127.0.0.1:9"
        assert gateway.client.password == "secret"
    finally:
        gateway.close()
