"""People's names without "first" and "last": a family name and given name(s), in the reader's order.

In Korea the family name comes first (김민준: family name 김, given name 민준) and, in Hangul, the two
are written together; in Germany the given name comes first ("Lena Hoffmann"). Which order applies
is decided by the name itself when it is written in Hangul, Chinese characters or kana (a Korean name
stays 김민준 on an English page), else by the language of the page (Korean pages put the family
name first: "Hoffmann Lena"), else by the market. Forms ask for "Family name" and "Given name(s)"
in the same order, so nobody is made to guess which box is which.

The columns keep their historical names (``first_name`` holds the given names, ``last_name`` the
family name); code reads them through ``display_name`` and ``fields``.
"""

from __future__ import annotations

from forecourt.core.i18n import current_locale, lazy_gettext

FAMILY_FIRST = "family_first"
GIVEN_FIRST = "given_first"
ORDERS = (FAMILY_FIRST, GIVEN_FIRST)
# Languages whose readers expect the family name first.
_FAMILY_FIRST_LANGUAGES = {"ko", "ja", "zh", "hu", "vi"}

FAMILY_NAME = lazy_gettext("Family name")
GIVEN_NAMES = lazy_gettext("Given name(s)")


def _east_asian(char: str) -> bool:
    code = ord(char)
    return (0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F  # Hangul
            or 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF  # Chinese characters
            or 0x3040 <= code <= 0x30FF)  # kana


def written_east_asian(*parts: str | None) -> bool:
    """True when the name is written in Hangul, Chinese characters or kana."""
    return any(_east_asian(c) for part in parts if part for c in part)


def order_for(*, given: str | None = None, family: str | None = None, language: str | None = None,
              market_order: str | None = None) -> str:
    """Family name first or given name first, for this name on this page (see the module's note)."""
    if written_east_asian(given, family):
        return FAMILY_FIRST
    language = (language or current_locale() or "").split("-")[0].split("_")[0].lower()
    if language in _FAMILY_FIRST_LANGUAGES:
        return FAMILY_FIRST
    if language:
        return GIVEN_FIRST
    return market_order if market_order in ORDERS else GIVEN_FIRST


def display_name(given: str | None, family: str | None, *, language: str | None = None,
                 market_order: str | None = None) -> str:
    """"김민준", "Lena Hoffmann", "Hoffmann Lena" (on a Korean page), or whichever part there is."""
    given, family = (given or "").strip(), (family or "").strip()
    order = order_for(given=given, family=family, language=language, market_order=market_order)
    parts = [family, given] if order == FAMILY_FIRST else [given, family]
    parts = [p for p in parts if p]
    separator = "" if written_east_asian(given, family) and order == FAMILY_FIRST else " "
    return separator.join(parts)


def fields(*, language: str | None = None, market_order: str | None = None) -> list[tuple[str, str]]:
    """The name boxes of a form as (column, label), in the order the reader writes their name."""
    family, given = ("last_name", str(FAMILY_NAME)), ("first_name", str(GIVEN_NAMES))
    order = order_for(language=language, market_order=market_order)
    return [family, given] if order == FAMILY_FIRST else [given, family]
