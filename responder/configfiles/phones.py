"""Phone numbers are normalised to E.164 at the edge, with the plan's country as default."""

from __future__ import annotations

import phonenumbers


def normalise_phone(raw: str, country: str) -> str:
    """E.164 form of ``raw``; raises ValueError with a reason a person can act on."""
    text = raw.strip()
    if not text:
        raise ValueError("phone number is empty")
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{raw!r} is not a phone number ({exc._msg})") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw!r} is not a valid phone number for {country} or in international form")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
