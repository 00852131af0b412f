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


def dial_form(e164: str, country: str) -> str:
    """The number as the office dials it: national form for the plan's country, international otherwise."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    home = phonenumbers.region_code_for_number(number) == country
    form = phonenumbers.PhoneNumberFormat.NATIONAL if home else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, form)
