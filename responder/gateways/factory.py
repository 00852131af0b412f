"""Pick the gateway the settings ask for. Twilio is imported only when chosen, so console and fake
deployments (and most tests) never load the SDK."""

from __future__ import annotations

from responder.domain.clock import Clock
from responder.domain.errors import InputError, Problem
from responder.domain.routes import GatewayConfig, Messaging
from responder.gateways.base import Gateway
from responder.gateways.callbacks import STATUS_PATH, public
from responder.settings import Settings


def env_name(field: str) -> str:
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


def make_gateway(settings: Settings, clock: Clock | None = None, messaging: Messaging | None = None) -> Gateway:
    """The configured gateway; InputError naming every missing setting when Twilio is half set up.

    With the plan's ``messaging`` section: a gateway per route and channel (and the group chat robots), each built
    from its own settings; InputError naming every gateway a route needs whose credentials are missing."""
    if messaging is not None:
        return _routed(settings, clock, messaging)
    return _single(settings, clock, settings.gateway)


def _single(settings: Settings, clock: Clock | None, provider: str) -> Gateway:
    if provider == "fake":
        from responder.gateways.fake import FakeGateway

        return FakeGateway(clock=clock)
    if provider == "twilio":
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


def missing_credentials(settings: Settings, provider: str) -> list[str]:
    """The settings a ``provider`` gateway needs that are not set (their environment names)."""
    if provider == "alibaba":
        return [env_name(f) for f in ("alibaba_access_key_id", "alibaba_access_key_secret") if not getattr(settings, f)]
    if provider == "twilio":
        missing = [env_name(f) for f in ("twilio_account_sid", "twilio_auth_token") if not getattr(settings, f)]
        if not settings.twilio_from_number and not settings.twilio_messaging_service_sid:
            missing.append(env_name("twilio_from_number"))
        return missing
    return []


def missing_robot_webhooks(settings: Settings, messaging: Messaging) -> list[str]:
    return [name for name in messaging.robots if name not in settings.robot_webhooks]


def _routed(settings: Settings, clock: Clock | None, messaging: Messaging) -> Gateway:
    from responder.gateways.routed import RoutedGateway

    used = {name for route in messaging.routes for name in (route.sms, route.voice) if name in messaging.gateways}
    problems = [Problem(f"the plan's gateway {name!r} ({messaging.gateways[name].provider}) needs {missing}",
                        field=f"messaging.gateways.{name}")
                for name in sorted(used)
                for missing in missing_credentials(settings, messaging.gateways[name].provider)]
    problems += [Problem(f"robot {name!r} has no webhook address in {env_name('robot_webhooks')}",
                         field=f"messaging.robots.{name}") for name in missing_robot_webhooks(settings, messaging)]
    if problems:
        raise InputError(problems)
    gateways = {name: _configured(settings, clock, messaging.gateways[name]) for name in sorted(used)}
    robots = None
    if messaging.robots:
        from responder.gateways.robots import RobotGateway

        robots = RobotGateway(messaging.robots, {k: v.get_secret_value() for k, v in settings.robot_webhooks.items()},
                              {k: v.get_secret_value() for k, v in settings.robot_secrets.items()},
                              base_url=settings.robot_api_base_url, clock=clock)
    return RoutedGateway(messaging, gateways, robots)


def _configured(settings: Settings, clock: Clock | None, config: GatewayConfig) -> Gateway:
    if config.provider != "alibaba":
        return _single(settings, clock, config.provider)
    from responder.gateways.alibaba.gateway import AlibabaGateway

    assert settings.alibaba_access_key_id is not None and settings.alibaba_access_key_secret is not None
    return AlibabaGateway(config, settings.alibaba_access_key_id, settings.alibaba_access_key_secret.get_secret_value(),
                          sms_endpoint=settings.alibaba_sms_endpoint, vms_endpoint=settings.alibaba_vms_endpoint,
                          protocol=settings.alibaba_protocol, clock=clock)
