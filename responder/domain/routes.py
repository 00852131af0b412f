"""Which provider reaches which number, and how: the plan's ``messaging`` section.

A route picks, by the number's prefix, one gateway for SMS and one for voice, and says how the people it reaches
confirm: by replying to the SMS (``reply``), by pressing 1 in a voice call placed right after the SMS
(``voice_after_sms``), or by a voice call instead of the SMS (``voice_instead``). A domestic provider sends only
approved templates: its gateway maps each message kind to the provider's template code, the template body as
registered (``${name}`` placeholders) and the value of each parameter (our fields: ``{level_name}``...).
Credentials are never here: they come from the deployment's settings.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=40)]


class Strict(BaseModel):
    """``plan.py`` imports this module, so it declares its own strict base (as ``cap_config`` does)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


Provider = Literal["alibaba", "twilio", "console", "fake"]
RobotProvider = Literal["wecom", "dingtalk"]
Confirm = Literal["reply", "voice_after_sms", "voice_instead"]

TEMPLATE_PROVIDERS = frozenset({"alibaba"})
"""Providers that send approved templates only (a template code and its parameters), never free text."""
FORBIDDEN_IN_BODY = ("【", "】")
"""Alibaba Cloud adds the signature in 【】 itself and refuses a template body that has either bracket."""
DRILL_MARKER = "演练："
"""The drill marker for routes whose provider forbids 【】: a template parameter ``${drill}``, valued like this in a
drill and empty otherwise (the signature's 【】 stays the provider's)."""
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

PROVIDER_LIMITS: dict[str, dict[str, int]] = {
    "alibaba": {"param_max": 35, "body_max": 500, "batch": 100, "per_number_per_day": 40},
}
"""Alibaba Cloud SMS: a variable is at most 35 characters (isv.PARAM_LENGTH_LIMIT); a message with its signature at
most 500; SendBatchSms takes 100 numbers (each with its own parameters); a number gets at most 40 of one
signature a day (isv.BUSINESS_LIMIT_CONTROL; the console may set it lower)."""


def placeholders(body: str) -> list[str]:
    """The ``${name}`` parameters of a provider's template body, in order."""
    return _PLACEHOLDER.findall(body)


class ProviderTemplate(Strict):
    """One approved template: its code at the provider, its body as registered, and how to fill each parameter."""

    code: Annotated[str, Field(min_length=1, max_length=40)]
    body: Annotated[str, Field(min_length=1, max_length=500)]
    """The template text as registered with the provider, ``${name}`` for each parameter (no signature)."""
    params: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], str] = {}
    """Parameter name -> its value, written with our template fields (``"{level_name}"``)."""

    @model_validator(mode="after")
    def _params_match_body(self) -> ProviderTemplate:
        used = set(placeholders(self.body))
        if missing := sorted(used - set(self.params)):
            raise ValueError(f"the body uses ${{{missing[0]}}} but params gives it no value")
        if extra := sorted(set(self.params) - used):
            raise ValueError(f"params has {extra[0]!r}, which the body does not use")
        return self

    def fill(self, fields: dict[str, str], limit: int | None = None) -> dict[str, str]:
        """The parameter values for one message: each param's format filled with the message's fields, cut to
        ``limit`` characters (the last one "…"): a person in several groups has a longer task than ``plan check``
        can foresee, and a shortened task beats a refused call-out."""
        values = {name: string.Formatter().vformat(value, (), _Blank(fields)).strip()
                  for name, value in self.params.items()}
        if limit is None:
            return values
        return {name: value if len(value) <= limit else value[:limit - 1] + "…" for name, value in values.items()}

    def text(self, values: dict[str, str]) -> str:
        """What the person reads: the registered body with the values in (the provider adds the signature)."""
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), self.body)


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


class GatewayConfig(Strict):
    """A provider account the plan sends through. Its credentials are the settings' (``RESPONDER_ALIBABA_*``...)."""

    provider: Provider
    sign_name: Annotated[str, Field(min_length=2, max_length=12)] | None = None
    """The approved signature (签名), without 【】: the provider puts it in front of every message."""
    caller: str | None = None
    """The caller number shown on voice calls (a number bought from the provider)."""
    templates: dict[Slug, ProviderTemplate] = {}
    """SMS templates by message kind (callout, resend, upgrade, standdown...)."""
    voice_templates: dict[Slug, ProviderTemplate] = {}
    """Text-to-speech templates by message kind (callout, voice...)."""
    confirmed_voice: str | None = None
    """The TTS template played when the person presses 1 (IvrCall's MenuKeyMap)."""
    per_number_per_day: Annotated[int, Field(ge=1, le=1000)] | None = None
    """At most this many SMS to one number a day through this gateway (default: the provider's)."""
    drill_marker: str = DRILL_MARKER
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")] = "zh"
    """The language its templates are registered in: ``plan check`` measures the parameters in it."""

    @model_validator(mode="after")
    def _templated(self) -> GatewayConfig:
        if self.provider in TEMPLATE_PROVIDERS and not self.sign_name:
            raise ValueError(f"a {self.provider} gateway needs sign_name (the approved signature)")
        return self

    @property
    def templated(self) -> bool:
        return self.provider in TEMPLATE_PROVIDERS

    def limit(self, name: str) -> int | None:
        if name == "per_number_per_day" and self.per_number_per_day is not None:
            return self.per_number_per_day
        return PROVIDER_LIMITS.get(self.provider, {}).get(name)


class Route(Strict):
    """Numbers starting with ``prefix`` ("+86"; "+" for all others) go through these gateways."""

    prefix: Annotated[str, Field(pattern=r"^\+\d{0,4}$")]
    sms: Slug
    voice: Slug | None = None
    confirm: Confirm = "reply"
    """How the people of this route confirm: reply to the SMS, or press 1 in a voice call."""
    replies: bool = True
    """Whether SMS replies come back through this route's SMS gateway (Twilio to +86: they do not)."""

    @model_validator(mode="after")
    def _confirmable(self) -> Route:
        if self.confirm != "reply" and self.voice is None:
            raise ValueError(f"confirm: {self.confirm} needs a voice gateway")
        if self.confirm == "reply" and not self.replies:
            raise ValueError("confirm: reply on a route without replies: nobody could confirm (choose "
                             "voice_after_sms or voice_instead)")
        return self

    @property
    def by_voice(self) -> bool:
        return self.confirm != "reply"


class Robot(Strict):
    """A WeCom (企业微信) or DingTalk group robot: the group's chat gets the group's messages too. Its webhook
    address (with its key) and DingTalk's signing secret are the settings' (``RESPONDER_ROBOT_WEBHOOKS``)."""

    provider: RobotProvider
    group: Slug
    kinds: list[Literal["callout", "upgrade", "downgrade", "standdown"]] = ["callout", "upgrade", "downgrade",
                                                                              "standdown"]
    """The message kinds the chat gets, once each (not once per person): the group's call-out and level changes
    with its task, and the stand-down."""


class Messaging(Strict):
    gateways: dict[Slug, GatewayConfig]
    routes: Annotated[list[Route], Field(min_length=1)]
    robots: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=14)], Robot] = {}
    """Group chat robots by name (at most 14 characters: rows are addressed ``robot:<name>``)."""

    def route_for(self, phone: str) -> Route | None:
        """The route with the longest prefix ``phone`` starts with."""
        matching = [r for r in self.routes if phone.startswith(r.prefix)]
        return max(matching, key=lambda r: len(r.prefix)) if matching else None

    def gateway_for(self, phone: str, channel: str) -> str | None:
        route = self.route_for(phone)
        if route is None:
            return None
        return route.voice if channel == "voice" else route.sms


def confirm_by(messaging: Messaging | None, phone: str) -> str:
    """How a person on ``phone`` confirms a call-out: "reply" (to the SMS), "voice_after_sms" (a call right after it,
    press 1) or "voice_instead" (the call alone), as the plan's route for the number says."""
    route = messaging.route_for(phone) if messaging else None
    return route.confirm if route is not None else "reply"


class Sent(BaseModel):
    """A message's text and fields as they will go out (see :func:`as_sent`)."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    text: str
    fields: dict[str, str]


def provider_template(messaging: Messaging | None, phone: str, kind: str,
                      channel: str) -> tuple[GatewayConfig, ProviderTemplate | None] | None:
    """The template-only gateway that will carry a ``kind`` message to ``phone`` on ``channel`` and its template for
    that kind (None: it has none); None when the number's gateway sends free text."""
    if messaging is None:
        return None
    name = messaging.gateway_for(phone, channel)
    config = messaging.gateways.get(name) if name else None
    if config is None or not config.templated:
        return None
    templates = config.voice_templates if channel == "voice" else config.templates
    return config, templates.get(kind)


def template_language(messaging: Messaging | None, phone: str, kind: str, channel: str) -> str | None:
    """The language the number's template-only gateway registered its ``kind`` template in; None: free text."""
    found = provider_template(messaging, phone, kind, channel)
    return found[0].language if found is not None and found[1] is not None else None


def as_sent(messaging: Messaging | None, phone: str, kind: str, channel: str, text: str,
            fields: dict[str, str]) -> Sent:
    """What the person gets: through a template-only provider, its approved template with the parameters filled from
    our fields (the drill marker in the provider's permitted form, never 【演练】); else our own text. A kind the
    gateway has no template for keeps our text: ``plan check`` refuses such a plan, and the adapter such a send."""
    found = provider_template(messaging, phone, kind, channel)
    template = found[1] if found is not None else None
    if found is None or template is None:
        return Sent(text=text, fields=fields)
    config = found[0]
    marked = {**fields, "drill": config.drill_marker if fields.get("drill") else ""}
    return Sent(text=template.text(template.fill(marked, config.limit("param_max"))), fields=marked)


_LINK = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)


def provider_warnings(messaging: Messaging | None, phone: str, kind: str, channel: str,
                      fields: Mapping[str, str] | None) -> list[str]:
    """Why a template-only provider would refuse this message (shown at preview, which then refuses the raise): no
    template for its kind, a link in a parameter. A parameter over the provider's length is not refused but cut
    (:meth:`ProviderTemplate.fill`), and the preview shows the text as cut: a rule's generated reason must not stop
    a call-out."""
    found = provider_template(messaging, phone, kind, channel)
    if found is None:
        return []
    config, template = found
    if template is None:
        return [f"no {config.provider} template for {kind!r} {'calls' if channel == 'voice' else 'messages'}"]
    warnings = []
    for name, value in template.fill(dict(fields or {})).items():
        if _LINK.search(value):
            warnings.append(f"template {template.code} parameter {name} has a link, which {config.provider} refuses")
    return warnings


def signed(messaging: Messaging | None, phone: str, channel: str, text: str) -> str:
    """The SMS as the phone shows it, for counting its parts (70, then 67 a part): a template-only provider puts its
    signature 【签名】 in front, and counts it."""
    if messaging is None or channel != "sms":
        return text
    name = messaging.gateway_for(phone, channel)
    config = messaging.gateways.get(name) if name else None
    return f"【{config.sign_name}】{text}" if config is not None and config.templated and config.sign_name else text
