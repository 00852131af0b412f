"""A local server answering as Alibaba Cloud's SMS (dysmsapi) and voice (dyvmsapi) APIs do, for the real SDKs.

It checks what the provider checks: the ACS3-HMAC-SHA256 signature of every request (canonical request, signed
headers, the body's hash), the access key, the required parameters of SendSms, SendBatchSms, QuerySendDetails and
IvrCall, the approved signature and template codes, each parameter's length (35) and links in parameters. It
answers as the provider: HTTP 200 with ``Code`` "OK" or a business error (isv.MOBILE_NUMBER_ILLEGAL,
isv.BUSINESS_LIMIT_CONTROL past ``per_number_per_day``...), HTTP 400 for a bad signature or throttling
(``Throttling.User``). ``script`` queues answers for the next sends. What it sent is in ``messages`` and ``calls``;
``smsup``, ``sms_report`` and ``ivr_report`` build the JSON the provider pushes to our hooks.

Point the gateway at it: ``AlibabaGateway(..., sms_endpoint=server.endpoint, vms_endpoint=server.endpoint,
protocol="http")``. Standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from responder.testing.json_stub import JsonStub

ACCESS_KEY_ID = "LTAI-test-key"
ACCESS_KEY_SECRET = "test-secret"
BEIJING = timezone(timedelta(hours=8))
PARAM_MAX = 35
_MAINLAND = re.compile(r"^1[3-9]\d{9}$")
_URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
OK = {"Code": "OK", "Message": "OK"}


@dataclass
class StubSms:
    number: str
    sign_name: str
    template_code: str
    params: dict[str, str]
    text: str
    biz_id: str
    out_id: str | None
    sent_at: datetime


@dataclass
class StubCall:
    call_id: str
    number: str
    caller: str
    start_code: str
    params: dict[str, str]
    keys: dict[str, str]
    out_id: str | None


@dataclass
class Answer:
    """A scripted answer: a business ``code`` (HTTP 200) or, with ``status``, a refused request."""

    code: str
    message: str = "scripted"
    status: int = 200


@dataclass
class AlibabaStubServer(JsonStub):
    """Fake dysmsapi + dyvmsapi on 127.0.0.1 and a free port; thread-safe."""

    sign_names: set[str] = field(default_factory=lambda: {"三建乡防汛办"})
    templates: dict[str, str] = field(default_factory=dict)
    """Approved SMS template codes and their bodies (``${name}`` parameters)."""
    voice_templates: dict[str, str] = field(default_factory=dict)
    callers: set[str] = field(default_factory=lambda: {"057112345678"})
    per_number_per_day: int = 40
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    messages: list[StubSms] = field(default_factory=list)
    calls: list[StubCall] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    """The action of every request that passed the signature check, in order."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._script: list[Answer] = []
        self._failing: dict[str, tuple[str, str]] = {}

    def fail_number(self, number: str, code: str = "isv.MOBILE_NUMBER_ILLEGAL", message: str = "非法手机号") -> None:
        """Every send to ``number`` (national form) is refused with ``code``, the whole request with it, as the
        provider refuses a request with one bad number."""
        with self._lock:
            self._failing[number] = (code, message)

    def script(self, *answers: Answer) -> None:
        """The next sends (SendSms, SendBatchSms, IvrCall) get these answers, one each."""
        with self._lock:
            self._script.extend(answers)

    # -- what the provider pushes to us ---------------------------------------------------------------------
    @staticmethod
    def smsup(number: str, content: str, sequence_id: int = 1) -> list[dict[str, Any]]:
        """The SmsUp push of a reply (HTTP batch push: a JSON array)."""
        return [{"phone_number": number, "content": content, "send_time": datetime.now(BEIJING).strftime(
            "%Y-%m-%d %H:%M:%S"), "dest_code": "1234", "sequence_id": sequence_id}]

    @staticmethod
    def sms_report(sms: StubSms, success: bool = True) -> list[dict[str, Any]]:
        at = sms.sent_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        return [{"phone_number": sms.number, "send_time": at, "report_time": at, "success": success,
                 "err_code": "DELIVERED" if success else "MK:0001", "err_msg": "", "sms_size": "1",
                 "biz_id": sms.biz_id, "out_id": sms.out_id}]

    @staticmethod
    def ivr_report(call: StubCall, dtmf: str | None) -> list[dict[str, Any]]:
        """The voice receipt of an answered IvrCall, with the key pressed (``dtmf``; None: none pressed)."""
        report: dict[str, Any] = {"call_id": call.call_id, "status_code": "200000", "status_msg": "用户应答",
                                  "out_id": call.out_id, "called_num": call.number,
                                  "status_time": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")}
        if dtmf is not None:
            report["dtmf"] = dtmf
        return [report]

    # -- answering --------------------------------------------------------------------------------------------
    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        query = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)) if body else {}
        problem = self._signature_problem(method, urlsplit(target).path or "/", query, headers, body)
        if problem:
            return 400, {"Code": "SignatureDoesNotMatch", "Message": problem, "RequestId": _request_id()}
        action = headers.get("x-acs-action", "")
        with self._lock:
            self.requests.append(action)
            scripted = self._script.pop(0) if self._script and action != "QuerySendDetails" else None
        if scripted is not None:
            return scripted.status, {"Code": scripted.code, "Message": scripted.message, "RequestId": _request_id()}
        handler = {"SendSms": self._send_sms, "SendBatchSms": self._send_batch, "QuerySendDetails": self._query,
                   "IvrCall": self._ivr_call}.get(action)
        if handler is None:
            return 404, {"Code": "InvalidAction.NotFound", "Message": f"unknown action {action!r}"}
        payload = handler({**query, **form})
        payload.setdefault("RequestId", _request_id())
        return 200, payload

    def _signature_problem(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                           body: bytes) -> str | None:
        """ACS3-HMAC-SHA256 as the SDK signs it; None when the request is genuine."""
        auth = headers.get("authorization", "")
        found = re.fullmatch(r"ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)", auth)
        if not found:
            return "missing or malformed Authorization"
        key, signed, signature = found.groups()
        if key != ACCESS_KEY_ID:
            return f"unknown AccessKeyId {key}"
        if hashlib.sha256(body).hexdigest() != headers.get("x-acs-content-sha256"):
            return "x-acs-content-sha256 is not the body's hash"
        names = signed.split(";")
        if not {"host", "x-acs-action", "x-acs-date", "x-acs-signature-nonce"} <= set(names):
            return "required headers are not signed"
        canonical_query = "&".join(f"{k}={quote(v, safe='~')}" for k, v in sorted(query.items()))
        canonical_headers = "".join(f"{n}:{headers.get(n, '').strip()}\n" for n in names)
        canonical = "\n".join([method, path, canonical_query, canonical_headers, signed,
                               headers["x-acs-content-sha256"]])
        to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        expected = hmac.new(ACCESS_KEY_SECRET.encode(), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        return None if hmac.compare_digest(expected, signature) else "the signature does not match"

    def _check(self, number: str, sign_name: str, code: str, params: dict[str, str],
               templates: dict[str, str]) -> dict[str, Any] | None:
        """The provider's own refusals of one message, in its order; None if it would go out."""
        if sign_name not in self.sign_names:
            return {"Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": f"签名不合法: {sign_name}"}
        if code not in templates:
            return {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": f"模板不合法: {code}"}
        if not _MAINLAND.match(number):
            return {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": f"非法手机号: {number}"}
        if number in self._failing:
            code, message = self._failing[number]
            return {"Code": code, "Message": message}
        if missing := [v for v in _VAR.findall(templates[code]) if v not in params]:
            return {"Code": "isv.TEMPLATE_MISSING_PARAMETERS", "Message": f"模板缺少变量: {missing[0]}"}
        for value in params.values():
            if len(value) > PARAM_MAX:
                return {"Code": "isv.PARAM_LENGTH_LIMIT", "Message": "参数超出长度限制"}
            if _URL.search(value):
                return {"Code": "isv.PARAM_NOT_SUPPORT_URL", "Message": "不支持url为变量"}
        today = self.clock().astimezone(BEIJING).date()
        sent_today = sum(1 for m in self.messages
                         if m.number == number and m.sent_at.astimezone(BEIJING).date() == today)
        if sent_today >= self.per_number_per_day:
            return {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": f"触发天级流控Permits:{self.per_number_per_day}"}
        return None

    def _record(self, number: str, sign_name: str, code: str, params: dict[str, str], biz_id: str,
                out_id: str | None) -> None:
        text = _VAR.sub(lambda m: params.get(m.group(1), ""), self.templates[code])
        self.messages.append(StubSms(number, sign_name, code, params, text, biz_id, out_id, self.clock()))

    def _send_sms(self, p: dict[str, str]) -> dict[str, Any]:
        if missing := [k for k in ("PhoneNumbers", "SignName", "TemplateCode") if not p.get(k)]:
            return {"Code": "MissingParameter", "Message": f"{missing[0]} is mandatory for this action."}
        params = json.loads(p.get("TemplateParam") or "{}")
        numbers = p["PhoneNumbers"].split(",")
        with self._lock:
            for number in numbers:
                if refused := self._check(number, p["SignName"], p["TemplateCode"], params, self.templates):
                    return refused
            biz_id = f"{len(self.messages) + 1}^{uuid.uuid4().int % 10**10}"
            for number in numbers:
                self._record(number, p["SignName"], p["TemplateCode"], params, biz_id, p.get("OutId"))
        return {**OK, "BizId": biz_id}

    def _send_batch(self, p: dict[str, str]) -> dict[str, Any]:
        if missing := [k for k in ("PhoneNumberJson", "SignNameJson", "TemplateCode") if not p.get(k)]:
            return {"Code": "MissingParameter", "Message": f"{missing[0]} is mandatory for this action."}
        numbers, signs = json.loads(p["PhoneNumberJson"]), json.loads(p["SignNameJson"])
        params = json.loads(p.get("TemplateParamJson") or "[]") or [{}] * len(numbers)
        if not (len(numbers) == len(signs) == len(params)) or len(numbers) > 100:
            return {"Code": "isv.MOBILE_COUNT_OVER_LIMIT" if len(numbers) > 100 else "isv.INVALID_PARAMETERS",
                    "Message": "号码、签名、参数个数不一致或超过100"}
        with self._lock:
            for number, sign, values in zip(numbers, signs, params, strict=True):
                if refused := self._check(number, sign, p["TemplateCode"], values, self.templates):
                    return refused
            biz_id = f"{len(self.messages) + 1}^{uuid.uuid4().int % 10**10}"
            for number, sign, values in zip(numbers, signs, params, strict=True):
                self._record(number, sign, p["TemplateCode"], values, biz_id, p.get("OutId"))
        return {**OK, "BizId": biz_id}

    def _query(self, p: dict[str, str]) -> dict[str, Any]:
        if missing := [k for k in ("PhoneNumber", "SendDate", "PageSize", "CurrentPage") if not p.get(k)]:
            return {"Code": "MissingParameter", "Message": f"{missing[0]} is mandatory for this action."}
        size, page = int(p["PageSize"]), int(p["CurrentPage"])
        if not 1 <= size <= 50:
            return {"Code": "isv.INVALID_PARAMETERS", "Message": "PageSize 1-50"}
        with self._lock:
            found = [m for m in self.messages if m.number == p["PhoneNumber"]
                     and m.sent_at.astimezone(BEIJING).strftime("%Y%m%d") == p["SendDate"]]
        shown = found[(page - 1) * size:page * size]
        return {**OK, "TotalCount": len(found), "SmsSendDetailDTOs": {"SmsSendDetailDTO": [
            {"PhoneNum": m.number, "SendStatus": 3, "ErrCode": "DELIVERED", "TemplateCode": m.template_code,
             "Content": f"【{m.sign_name}】{m.text}", "OutId": m.out_id,
             "SendDate": m.sent_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
             "ReceiveDate": m.sent_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")} for m in shown]}}

    def _ivr_call(self, p: dict[str, str]) -> dict[str, Any]:
        if missing := [k for k in ("CalledNumber", "CalledShowNumber", "StartCode") if not p.get(k)]:
            return {"Code": "MissingParameter", "Message": f"{missing[0]} is mandatory for this action."}
        if p["CalledShowNumber"] not in self.callers:
            return {"Code": "isv.DISPLAY_NUMBER_ILLEGAL", "Message": "主叫号码不合法"}
        if p["StartCode"] not in self.voice_templates:
            return {"Code": "isv.TTS_TEMPLATE_ILLEGAL", "Message": f"TTS模板不合法: {p['StartCode']}"}
        if not _MAINLAND.match(p["CalledNumber"]):
            return {"Code": "isv.CALLED_NUMBER_ILLEGAL", "Message": "被叫号码不合法"}
        keys = {p[k]: p.get(k.replace(".Key", ".Code"), "") for k in p if re.fullmatch(r"MenuKeyMap\.\d+\.Key", k)}
        call = StubCall(f"{uuid.uuid4().int % 10**12}^{len(self.calls) + 1}", p["CalledNumber"],
                        p["CalledShowNumber"], p["StartCode"], json.loads(p.get("StartTtsParams") or "{}"), keys,
                        p.get("OutId"))
        with self._lock:
            self.calls.append(call)
        return {**OK, "CallId": call.call_id}


def _request_id() -> str:
    return str(uuid.uuid4()).upper()
