"""TwiML for voice call-outs, built with the Twilio SDK: read the message in the person's language and gather
"press 1 to confirm". The Twilio gateway places calls with this TwiML inline; the web hooks serve the same document
to a call that fetches its URL, and answer the keypress with ``confirmed_twiml``."""

from __future__ import annotations

import re
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

SAY_LANGUAGES = {"zh": "cmn-CN", "en": "en-US"}
"""Our language codes to the language attribute of <Say>; other codes are passed through as they are."""
CONFIRMED_TEXT = {"zh": "已确认，谢谢。", "en": "Confirmed, thank you."}
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
