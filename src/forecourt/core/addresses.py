"""Postal addresses as each market writes them, and postcodes checked in words.

An address keeps three parts: ``street`` (the road and house number: "Kastanienallee 12",
"테헤란로 152"), ``postcode`` and ``city`` (in Korea the province or metropolitan city and district:
"서울특별시 강남구"). A market's ``address_format`` says how they are written, one template per
line: Germany "{street}" over "{postcode} {city}"; Korea's road-name address from the largest place
to the building, with the 5-digit postcode in front: "({postcode}) {city} {street}". Forms show the
boxes in the order the market writes them.
"""

from __future__ import annotations

import re
import string

from forecourt.core.errors import Invalid
from forecourt.core.i18n import _, lazy_gettext

PARTS = ("street", "postcode", "city")
LABELS = {"street": lazy_gettext("Street and number"), "postcode": lazy_gettext("Postcode"),
          "city": lazy_gettext("Town or city")}


def format_lines(lines: list[str], *, street: str | None, postcode: str | None, city: str | None) -> list[str]:
    """The address as the market writes it, one string per line; empty parts and their brackets vanish."""
    values = {"street": (street or "").strip(), "postcode": (postcode or "").strip(), "city": (city or "").strip()}
    written = []
    for line in lines:
        text = line.format(**values)
        text = re.sub(r"\(\s*\)|\[\s*\]", "", text)  # "( )" left by a missing postcode
        text = " ".join(text.split()).strip(" ,")
        if text:
            written.append(text)
    return written


def order_of(lines: list[str]) -> list[str]:
    """The parts in the order the format writes them (the order of a form's boxes)."""
    seen: list[str] = []
    for line in lines:
        for _text, name, _spec, _conv in string.Formatter().parse(line):
            if name in PARTS and name not in seen:
                seen.append(name)
    return seen + [p for p in PARTS if p not in seen]


def check_postcode(postcode: str | None, *, pattern: str | None, example: str | None, country: str,
                   field: str = "postcode") -> str | None:
    """The postcode stripped of spaces, or ``Invalid`` saying what the market's postcodes look like."""
    if postcode is None or not postcode.strip():
        return None
    value = postcode.strip()
    if pattern and not re.fullmatch(pattern, value):
        if re.fullmatch(r"\d{3}-\d{3}", value) and example and len(example) == 5:
            raise Invalid(_("%(postcode)s is an old six-digit postcode; since 2015 postcodes in %(country)s have "
                            "five digits, such as %(example)s.", postcode=value, country=country, example=example),
                          field=field)
        raise Invalid(_("%(postcode)s is not a postcode in %(country)s; they look like %(example)s.",
                        postcode=value[:16], country=country, example=example or "—"), field=field)
    return value
