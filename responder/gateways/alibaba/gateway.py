"""Alibaba Cloud SMS and voice through the official SDKs (``alibabacloud-dysmsapi20170525``,
``alibabacloud-dyvmsapi20170525``).

Only approved templates go out: each message's kind picks the plan's template (code and parameters), whose values
are filled from the fields the message's text was made of. SMS: ``SendSms`` one at a time, ``SendBatchSms`` for a
batch (100 numbers a request, one template code per request, each number its own parameters); the provider is not
idempotent, the outbox is what makes a send safe. Its one ``BizId`` per request becomes ``BizId:number`` per message,
the key its delivery receipts (SmsReport: ``biz_id`` and ``phone_number``) find the message by. Voice: ``IvrCall``
(SingleCallByTts takes no keypress): the TTS template read up to three times, key 1 plays the confirmation and comes
back through the voice receipt (``dtmf``) with our outbox id as ``OutId``. ``sent_since`` asks ``QuerySendDetails``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client as SmsClient
from alibabacloud_dyvmsapi20170525 import models as vms_models
from alibabacloud_dyvmsapi20170525.client import Client as VmsClient
from alibabacloud_tea_openapi import models as open_api_models

from responder.domain.clock import Clock, SystemClock
from responder.domain.plan import contains_url
from responder.domain.routes import GatewayConfig, ProviderTemplate
from responder.gateways.alibaba.errors import by_code, classify
from responder.gateways.base import Accepted, GatewayError, OutgoingCall, OutgoingSms, PermanentError, SentRecord

SMS_ENDPOINT = "dysmsapi.aliyuncs.com"
VMS_ENDPOINT = "dyvmsapi.aliyuncs.com"
CHINA = ZoneInfo("Asia/Shanghai")
"""The provider's dates (SendDate, send_date) are Beijing time."""
PAGE_SIZE = 50
PLAY_TIMES = 3
"""叫应: the call reads the message up to three times before it gives up on a keypress."""
KEY_TIMEOUT_MS = 8000
ONE_MESSAGE_CODES = frozenset({"MOBILE_NUMBER_ILLEGA", "PARAM_LENGTH_LIMIT", "PARAM_NOT_SUPPORT_URL",
                               "BLACK_KEY_CONTROL_LI", "BUSINESS_LIMIT_CONTR"})
"""Codes (as the outbox keeps them, 20 characters) that one message of a batch earns for the whole request."""


def national(phone: str) -> str:
    """The number as the provider takes it: a Chinese mainland number without +86, others without the +."""
    return phone[3:] if phone.startswith("+86") else phone.lstrip("+")


class AlibabaGateway:
    """SMS and voice through one Alibaba Cloud account, as a plan's ``messaging.gateways`` entry configures it."""

    name = "alibaba"
    in_process = False

    def __init__(self, config: GatewayConfig, access_key_id: str, access_key_secret: str, *,
                 sms_endpoint: str | None = None, vms_endpoint: str | None = None, protocol: str = "https",
                 timeout: float = 10, clock: Clock | None = None) -> None:
        self.config = config
        self.batch_limit = config.limit("batch") or 0
        self.clock = clock or SystemClock()
        self.sign_name = config.sign_name or ""
        self._param_max = config.limit("param_max")

        def client_config(endpoint: str) -> open_api_models.Config:
            return open_api_models.Config(access_key_id=access_key_id, access_key_secret=access_key_secret,
                                          endpoint=endpoint, protocol=protocol, region_id="cn-hangzhou",
                                          read_timeout=int(timeout * 1000), connect_timeout=int(timeout * 1000))

        self.sms = SmsClient(client_config(sms_endpoint or SMS_ENDPOINT))
        self.vms = VmsClient(client_config(vms_endpoint or VMS_ENDPOINT))

    # -- SMS --------------------------------------------------------------------------------------------------
    def send_sms(self, message: OutgoingSms) -> Accepted:
        template, params = self._filled(self.config.templates, message.kind, message.fields)
        number = national(message.to)
        body = self._call(self.sms.send_sms, sms_models.SendSmsRequest(
            phone_numbers=number, sign_name=self.sign_name, template_code=template.code,
            template_param=json.dumps(params, ensure_ascii=False), out_id=message.reference))
        return Accepted(sid=f"{body.biz_id}:{number}", status="sent")

    def send_batch(self, messages: Sequence[OutgoingSms]) -> list[Accepted | GatewayError]:
        """One ``SendBatchSms`` per template code among ``messages`` (a request takes one), 100 numbers each."""
        outcomes: dict[int, Accepted | GatewayError] = {}
        by_code_: dict[str, list[tuple[int, str, dict[str, str]]]] = {}
        for i, message in enumerate(messages):
            try:
                template, params = self._filled(self.config.templates, message.kind, message.fields)
            except GatewayError as exc:
                outcomes[i] = exc
                continue
            by_code_.setdefault(template.code, []).append((i, national(message.to), params))
        size = self.batch_limit or 1
        for code, items in by_code_.items():
            for start in range(0, len(items), size):
                chunk = items[start:start + size]
                try:
                    body = self._call(self.sms.send_batch_sms, sms_models.SendBatchSmsRequest(
                        phone_number_json=json.dumps([number for _, number, _ in chunk]),
                        sign_name_json=json.dumps([self.sign_name] * len(chunk), ensure_ascii=False),
                        template_code=code,
                        template_param_json=json.dumps([params for _, _, params in chunk], ensure_ascii=False)))
                except GatewayError as exc:
                    if len(chunk) > 1 and exc.code in ONE_MESSAGE_CODES:
                        # One number or value spoils a request: each on its own, so only that one fails.
                        outcomes.update((i, self._one(messages[i])) for i, _, _ in chunk)
                    else:
                        outcomes.update((i, exc) for i, _, _ in chunk)
                    continue
                outcomes.update((i, Accepted(sid=f"{body.biz_id}:{number}", status="sent")) for i, number, _ in chunk)
        return [outcomes[i] for i in range(len(messages))]

    def _one(self, message: OutgoingSms) -> Accepted | GatewayError:
        try:
            return self.send_sms(message)
        except GatewayError as exc:
            return exc

    def sent_since(self, to: str, since: datetime) -> list[SentRecord] | None:
        """What ``QuerySendDetails`` lists for ``to`` since ``since``, each day's pages, with the signature taken off
        the text (the outbox keeps the text without it). None if the provider cannot be asked."""
        number = national(to)
        floor = since.astimezone(UTC)
        found: list[SentRecord] = []
        day = since.astimezone(CHINA).date()
        today = self.clock.now().astimezone(CHINA).date()
        try:
            while day <= today:
                found.extend(r for r in self._day(number, to, day) if r.created_at >= floor)
                day += timedelta(days=1)
        except GatewayError:
            return None
        return found

    def _day(self, number: str, to: str, day: date) -> list[SentRecord]:
        records: list[SentRecord] = []
        page = 1
        while True:
            body = self._call(self.sms.query_send_details, sms_models.QuerySendDetailsRequest(
                phone_number=number, send_date=day.strftime("%Y%m%d"), page_size=PAGE_SIZE, current_page=page))
            dtos = body.sms_send_detail_dtos.sms_send_detail_dto if body.sms_send_detail_dtos else []
            for dto in dtos or []:
                sent_at = datetime.strptime(str(dto.send_date), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
                records.append(SentRecord(sid=f"{dto.out_id or 'query'}:{number}:{sent_at:%Y%m%d%H%M%S}", to=to,
                                          body=self._unsigned(str(dto.content or "")),
                                          created_at=sent_at.astimezone(UTC), status=_send_status(dto.send_status)))
            if len(dtos or []) < PAGE_SIZE or page * PAGE_SIZE >= int(body.total_count or 0):
                return records
            page += 1

    def _unsigned(self, content: str) -> str:
        signature = f"【{self.sign_name}】"
        return content.removeprefix(signature).removesuffix(signature)

    # -- voice ------------------------------------------------------------------------------------------------
    def place_call(self, call: OutgoingCall) -> Accepted:
        """An ``IvrCall``: the kind's TTS template, key 1 plays ``confirmed_voice`` and is reported with our OutId."""
        template, params = self._filled(self.config.voice_templates, call.kind, call.fields)
        if not self.config.caller:
            raise PermanentError("no caller number: set the gateway's caller (a number bought from the provider)")
        menu = [vms_models.IvrCallRequestMenuKeyMap(key="1", code=self.config.confirmed_voice or template.code)]
        body = self._call(self.vms.ivr_call, vms_models.IvrCallRequest(
            called_number=national(call.to), called_show_number=self.config.caller, start_code=template.code,
            start_tts_params=json.dumps(params, ensure_ascii=False), menu_key_map=menu, play_times=PLAY_TIMES,
            timeout=KEY_TIMEOUT_MS, out_id=call.reference))
        return Accepted(sid=str(body.call_id), status="queued")

    # -- shared -----------------------------------------------------------------------------------------------
    def _filled(self, templates: dict[str, ProviderTemplate], kind: str | None,
                fields: Any) -> tuple[ProviderTemplate, dict[str, str]]:
        """The kind's template and its parameters (cut to the provider's length), refused here rather than by the
        provider when one holds a link."""
        template = templates.get(kind or "")
        if template is None:
            raise PermanentError(f"no approved {self.name} template for {kind!r} messages (plan messaging.gateways)")
        params = template.fill(dict(fields or {}), self._param_max)
        for name, value in params.items():
            if contains_url(value):
                raise PermanentError(f"template {template.code} parameter {name} has a link, which the provider "
                                     "refuses in parameters", code="PARAM_NOT_SUPPORT_URL")
        return template, params

    @staticmethod
    def _call(method: Any, request: Any) -> Any:
        """Call the SDK; a refused request (HTTP error) or a refused send (``Code`` not OK) as our error."""
        try:
            response = method(request)
        except Exception as exc:
            raise classify(exc) from exc
        body = response.body
        if body is None:
            raise by_code(None, "empty answer", response.status_code)
        if body.code != "OK":
            raise by_code(body.code, str(body.message or ""))
        return body


def _send_status(status: object) -> str:
    """QuerySendDetails' SendStatus: 1 waiting for the receipt, 2 failed, 3 delivered."""
    return {1: "sent", 2: "failed", 3: "delivered"}.get(int(status) if isinstance(status, int | str) else 0, "sent")
