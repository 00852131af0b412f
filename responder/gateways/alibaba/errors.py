"""Alibaba Cloud's answers in our two kinds of error. Its SMS and voice APIs answer HTTP 200 with a ``Code`` other than
"OK" for a refused send (the business errors, e.g. isv.MOBILE_NUMBER_ILLEGAL), and 4xx/5xx for a refused request
(signature, throttling); the SDK raises for the latter. Unknown trouble is retryable, as with Twilio: a duplicate
warning is better than a lost one, and the send deadline bounds the retries."""

from __future__ import annotations

from responder.gateways.base import GatewayError, PermanentError, RetryableError

RETRYABLE_CODES = frozenset({
    "isv.BUSINESS_LIMIT_CONTROL",  # the per-number frequency limit (minute/hour/day): later may work
    "isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR", "isp.UNKNOWN", "isv.DATA_NOT_EXIST",
    "Throttling", "Throttling.User", "Throttling.Api", "ServiceUnavailable", "InternalError",
    "SignatureNonceUsed",
})
"""Worth trying again: flow control, the provider's own trouble, a nonce clash."""
PERMANENT_CODES = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL", "isv.SMS_SIGN_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.INVALID_PARAMETERS", "isv.INVALID_JSON_PARAM", "isv.PARAM_LENGTH_LIMIT", "isv.PARAM_NOT_SUPPORT_URL",
    "isv.BLACK_KEY_CONTROL_LIMIT", "isv.OUT_OF_SERVICE", "isv.ACCOUNT_NOT_EXISTS", "isv.ACCOUNT_ABNORMAL",
    "isv.AMOUNT_NOT_ENOUGH", "isv.PRODUCT_UN_SUBSCRIPT", "isv.PRODUCT_UNSUBSCRIBE", "isp.RAM_PERMISSION_DENY",
    "isv.DENY_IP_RANGE", "isv.DAY_LIMIT_CONTROL", "isv.SMS_CONTENT_ILLEGAL", "isv.SMS_SIGN_EMOJI_ILLEGAL",
    "isv.EXTEND_CODE_ERROR", "isv.DOMESTIC_NUMBER_NOT_SUPPORTED", "isv.CUSTOMER_REFUSED", "isv.VOICE_FILE_ILLEGAL",
    "isv.TTS_TEMPLATE_ILLEGAL", "isv.DISPLAY_NUMBER_ILLEGAL", "isv.CALLED_NUMBER_ILLEGAL",
    "InvalidAccessKeyId.NotFound", "SignatureDoesNotMatch", "IncompleteSignature", "MissingParameter",
    "InvalidParameter", "Forbidden.RAM", "InvalidAccessKeyId",
})
"""Will never work as it is: a bad number, an unapproved template or signature, a bad key, no money."""


def by_code(code: str | None, message: str, status: int | None = None) -> GatewayError:
    """Our error for Alibaba Cloud's ``code`` (and the HTTP status, where there was one)."""
    if code in PERMANENT_CODES:
        return PermanentError(f"{code}: {message}", code=_short(code))
    if code in RETRYABLE_CODES or (code or "").startswith("Throttling"):
        return RetryableError(f"{code}: {message}", code=_short(code))
    if status is not None and 400 <= status < 500 and status not in (408, 429):
        return PermanentError(f"{code or status}: {message}", code=_short(code))
    return RetryableError(f"{code or status or 'unknown'}: {message}", code=_short(code))


def classify(exc: BaseException) -> GatewayError:
    """Our kind of error for anything the SDK raised (its HTTP errors, or the transport's through
    ``UnretryableException``)."""
    if isinstance(exc, GatewayError):
        return exc
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

    if isinstance(exc, AlibabaCloudException):
        return by_code(exc.code, str(exc.message or exc), exc.status_code)
    inner = getattr(exc, "inner_exception", None)
    if inner is not None and inner is not exc:
        return RetryableError(f"connection failed: {type(inner).__name__}: {inner}")
    return RetryableError(f"unexpected {type(exc).__name__}: {exc}")


def _short(code: str | None) -> str | None:
    """The outbox keeps error codes in 20 characters: isv.BUSINESS_LIMIT_CONTROL fits without its prefix."""
    if code is None:
        return None
    return code if len(code) <= 20 else code.split(".", 1)[-1][:20]
