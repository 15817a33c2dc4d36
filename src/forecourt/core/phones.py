"""Phone numbers: parsed, checked and formatted by ``phonenumbers`` (Google's libphonenumber data).

A number is stored in E.164 ("+821012345678"), the one spelling every SMS gateway and dialler
reads, and shown the way its own country writes it ("010-1234-5678" in Korea, "0151 20304050" in
Germany) to readers in that country, internationally ("+82 10-1234-5678") to anyone else. A
number typed without a country code is read in the region of the person's market; one that is
not a valid number of its country is refused with a sentence that says why.
"""

from __future__ import annotations

import phonenumbers
from babel import Locale
from phonenumbers import NumberParseException, PhoneNumberFormat

from forecourt.core.errors import Invalid
from forecourt.core.i18n import _, current_locale

_WHY = {
    NumberParseException.INVALID_COUNTRY_CODE: "country",
    NumberParseException.NOT_A_NUMBER: "not_a_number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    NumberParseException.TOO_SHORT_NSN: "too_short",
    NumberParseException.TOO_LONG: "too_long",
}


def country_name(region: str | None) -> str:
    """"South Korea" / "대한민국" / "Südkorea", in the reader's language."""
    if not region:
        return "?"
    try:
        return Locale.parse(current_locale()).territories.get(region.upper(), region.upper())
    except (ValueError, TypeError):
        return region.upper()


def _refusal(text: str, reason: str, region: str | None) -> str:
    shown = text[:40]
    if reason == "country":
        return _("%(number)s has no country code we know. Start it with + and the country code (+49, +82), "
                 "or write it as dialled in %(country)s.", number=shown, country=country_name(region))
    if reason == "too_short":
        return _("%(number)s is too short to be a phone number.", number=shown)
    if reason == "too_long":
        return _("%(number)s is too long to be a phone number.", number=shown)
    if reason == "not_a_number":
        return _("%(number)s is not a phone number: use digits, spaces, +, - and brackets.", number=shown)
    return _("%(number)s is not a valid phone number in %(country)s.", number=shown, country=country_name(reason))


def parse(text: str, *, region: str | None, field: str = "phone") -> phonenumbers.PhoneNumber:
    """The number ``text`` names, read in ``region`` unless it starts with "+", or ``Invalid`` in words."""
    raw = (text or "").strip()
    if len(raw) > 40:
        raise Invalid(_refusal(raw, "too_long", region), field=field)
    try:
        number = phonenumbers.parse(raw, (region or "").upper() or None)
    except NumberParseException as problem:
        raise Invalid(_refusal(raw, _WHY.get(problem.error_type, "not_a_number"), region), field=field) from None
    own = phonenumbers.region_code_for_number(number)
    if not phonenumbers.is_valid_number(number):
        raise Invalid(_refusal(raw, own or (region or "").upper(), region), field=field)
    return number


def normalise(text: str | None, *, region: str | None, field: str = "phone") -> str | None:
    """E.164 for storing ("+821012345678"); ``None`` for nothing typed."""
    if text is None or not str(text).strip():
        return None
    return phonenumbers.format_number(parse(str(text), region=region, field=field), PhoneNumberFormat.E164)


def is_valid(text: str | None, *, region: str | None) -> bool:
    try:
        return normalise(text, region=region) is not None
    except Invalid:
        return False


def display(stored: str | None, *, viewer_region: str | None = None) -> str:
    """How a reader sees a stored number: nationally inside its own country, internationally outside.

    A value that is not a number (written before numbers were checked) is shown as it was written."""
    if not stored:
        return ""
    try:
        number = phonenumbers.parse(stored, None if stored.startswith("+") else (viewer_region or None))
    except NumberParseException:
        return stored
    if not phonenumbers.is_valid_number(number):
        return stored
    own = phonenumbers.region_code_for_number(number)
    style = PhoneNumberFormat.NATIONAL if viewer_region and own == viewer_region.upper() \
        else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


def dial_link(stored: str | None) -> str:
    """For ``href="tel:..."``: E.164 when the value is a number, else digits and + only."""
    if not stored:
        return ""
    return "".join(c for c in stored if c.isdigit() or c == "+")
