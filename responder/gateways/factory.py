"""Pick the gateway the settings ask for. Twilio is imported only when chosen, so console and fake
deployments (and most tests) never load the SDK."""

from __future__ import annotations

from responder.domain.clock import Clock
from responder.domain.errors import InputError, Problem
from responder.gateways.base import Gateway
from responder.gateways.callbacks import STATUS_PATH, public
from responder.settings import Settings


def env_name(field: str) -> str:
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


def make_gateway(settings: Settings, clock: Clock | None = None) -> Gateway:
    """The configured gateway; InputError naming every missing setting when Twilio is half set up."""
    if settings.gateway == "fake":
        from responder.gateways.fake import FakeGateway

        return FakeGateway(clock=clock)
    if settings.gateway == "twilio":
        return _twilio(settings)
    from responder.gateways.console import ConsoleGateway

    return ConsoleGateway(clock=clock)


def status_callback_url(settings: Settings) -> str | None:
    return public(settings.public_url, STATUS_PATH)


def _twilio(settings: Settings) -> Gateway:
    problems = [Problem(f"{env_name(field)} is required when {env_name('gateway')}=twilio", field=env_name(field))
                for field in ("twilio_account_sid", "twilio_auth_token") if not getattr(settings, field)]
    if not settings.twilio_from_number and not settings.twilio_messaging_service_sid:
        problems.append(Problem(f"set {env_name('twilio_from_number')} (needed for voice calls) or "
                                f"{env_name('twilio_messaging_service_sid')} when {env_name('gateway')}=twilio",
                                field=env_name("twilio_from_number")))
    if problems or settings.twilio_account_sid is None or settings.twilio_auth_token is None:
        raise InputError(problems)
    from responder.gateways.twilio.gateway import TwilioGateway

    return TwilioGateway(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        from_number=settings.twilio_from_number,
        messaging_service_sid=settings.twilio_messaging_service_sid,
        api_base_url=settings.twilio_api_base_url,
        status_callback=status_callback_url(settings),
    )
