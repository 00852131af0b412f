"""TwiML for voice call-outs, built with the Twilio SDK: read the message in the person's language and gather
"press 1 to confirm". The dispatcher places calls with this TwiML inline; the web app serves the same documents
for providers that fetch a URL, and answers the keypress webhook with ``confirmed_twiml``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from twilio.twiml.voice_response import VoiceResponse

from responder.app.ports import Context
from responder.storage.models import OutboxRow

SAY_LANGUAGES = {"zh": "cmn-CN", "en": "en-US"}
"""Our language codes to the language attribute of <Say>; other codes are passed through as they are."""
CONFIRMED_TEXT = {"zh": "已确认，谢谢。", "en": "Confirmed, thank you."}
GATHER_PATH = "/twilio/voice/{outbox_id}/gather"
GATHER_TIMEOUT_SECONDS = 8
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Characters XML 1.0 cannot carry at all: drop them rather than emit a document Twilio refuses."""


def say_language(language: str) -> str:
    code = language.strip()
    return SAY_LANGUAGES.get(code.lower(), code)


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _say(parent: Any, text: str, language: str) -> None:
    """A <Say> under ``parent`` (the response or a <Gather>); no language attribute if we have none."""
    lang = say_language(language)
    if lang:
        parent.say(_clean(text), language=lang)
    else:
        parent.say(_clean(text))


def call_twiml(text: str, language: str, gather_url: str | None, *, repeats: int = 1) -> str:
    """The message read out, then repeated ``repeats`` times.

    With a ``gather_url``: ``<Gather numDigits="1" action=gather_url method="POST" timeout="8">`` around the
    message, and around each repeat as well, so that a "1" pressed while the repeat is being read still
    confirms (digits pressed outside a <Gather> are thrown away by Twilio). Without one (no public URL is
    configured) there is nowhere to send a keypress: the message is only read, then repeated.
    """
    response = VoiceResponse()
    for _ in range(1 + max(0, repeats)):
        if gather_url:
            gather = response.gather(num_digits=1, action=gather_url, method="POST",
                                     timeout=GATHER_TIMEOUT_SECONDS)
            _say(gather, text, language)
        else:
            _say(response, text, language)
    return str(response.to_xml())


def confirmed_twiml(language: str, text: str | None = None) -> str:
    """ "Confirmed, thank you" in the person's language (``text`` overrides it), then hang up."""
    base = language.strip().lower().split("-")[0]
    response = VoiceResponse()
    _say(response, text or CONFIRMED_TEXT.get(base, CONFIRMED_TEXT["en"]), language)
    response.hangup()
    return str(response.to_xml())


def hangup_twiml() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response.to_xml())


def gather_url(public_url: str | None, outbox_id: int) -> str | None:
    if not public_url:
        return None
    return public_url.rstrip("/") + GATHER_PATH.format(outbox_id=outbox_id)


def voice_twiml_for(ctx: Context) -> Callable[[int, str, str], str]:
    """For ``Dispatcher(voice_twiml=...)``: ``(outbox_id, body, to) -> TwiML`` in the outbox row's language,
    with the keypress sent to ``settings.public_url`` + ``/twilio/voice/{outbox_id}/gather``."""

    def build(outbox_id: int, body: str, to: str) -> str:
        with ctx.sessions() as session:
            language = session.scalar(select(OutboxRow.language).where(OutboxRow.id == outbox_id))
        return call_twiml(body, language or "", gather_url(ctx.settings.public_url, outbox_id))

    return build
