"""Dates, times and numbers as the reader writes them, on the reader's clock.

Babel does the formatting in the current language (``core.i18n``) and, for moments, on the viewer's
zone (``core.zones``): "6. Dez. 2026, 14:05" for a German reader in Berlin, "2026. 12. 6. 오후 10:05"
for a Korean reader in Seoul, "Dec 6, 2026, 1:05 PM" in English. Nothing here writes a format by
hand: a style ("short" ... "full") or a CLDR skeleton ("MMMEd": weekday, day and short month) names
what is wanted and each language puts it in its own order.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers

from forecourt.core import zones
from forecourt.core.i18n import current_locale

# "medium" reads best as the skeletons below (no seconds; 24-hour clock everywhere: a workshop's day).
DAY = {"medium": "yMMMd", "short": "yMd"}
CLOCK = "Hm"
# English pages keep the house style they were written in ("Mon 02 Jun 2025, 10:00": day before
# month, 24-hour clock), spelled as CLDR patterns so Babel still writes the names of days and months.
ENGLISH_DAYS = {"medium": "dd MMM yyyy", "short": "dd/MM/yyyy", "long": "d MMMM yyyy", "full": "EEEE dd MMMM yyyy",
                "MMMEd": "EEE dd MMM", "MMMd": "dd MMM", "yMMMEd": "EEE dd MMM yyyy", "yMMMM": "MMMM yyyy",
                "weekday": "EEEE"}
ENGLISH_CLOCKS = {"short": "HH:mm", "Hm": "HH:mm", "Hms": "HH:mm:ss"}


@lru_cache(maxsize=16)
def _locale(code: str) -> Locale:
    return Locale.parse(code.replace("-", "_"))


def _reader() -> Locale:
    return _locale(current_locale() or "en")


def _on_clock(value: datetime) -> datetime:
    """A stored moment (naive or UTC) on the viewer's clock; a moment already put on someone's clock
    (a dealer's, by ``workshop.calendar.local``) stays on it."""
    if value.tzinfo is None or value.utcoffset() == timedelta(0) and getattr(value.tzinfo, "key", "UTC") == "UTC":
        return zones.to_viewer(value)  # type: ignore[return-value]
    return value


def format_date(value: date | datetime | None, style: str = "medium") -> str:
    """A day: ``style`` is a Babel style or a CLDR skeleton ("MMMd", "yMMMM", "EEEE"). A moment's day is the viewer's."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = _on_clock(value).date()
    if _reader().language == "en" and style in ENGLISH_DAYS:
        return babel_dates.format_date(value, format=ENGLISH_DAYS[style], locale=_reader())
    if style in ("long", "full"):
        return babel_dates.format_date(value, format=style, locale=_reader())
    if style == "weekday":
        return babel_dates.format_date(value, format="EEEE", locale=_reader())
    return babel_dates.format_skeleton(DAY.get(style, style), value, locale=_reader())


def weekday_name(index: int) -> str:
    """The name of a weekday, Monday being 0 as in ``date.weekday()``: "Monday", "Montag", "월요일"."""
    return babel_dates.get_day_names("wide", locale=_reader())[index]


def format_list(items) -> str:
    """"A, B and C" as the reader joins a list ("A, B und C", "A, B 및 C")."""
    from babel.lists import format_list as babel_list

    return babel_list([str(item) for item in items], locale=_reader())


def format_datetime(value: datetime | None, style: str = "medium") -> str:
    """A stored moment on the viewer's clock, in the reader's words ("short" ... "full", or a skeleton)."""
    if value is None:
        return "—"
    local = _on_clock(value)
    if _reader().language == "en":
        between = " " if style in ("MMMd", "MMMEd") else ", "  # "02 Jun 10:00", "02 Jun 2025, 10:00"
        return format_date(local, style) + between + format_time(local)
    pattern = _reader().datetime_formats.get("full" if style == "full" else "medium", "{1}, {0}")
    pattern = getattr(pattern, "pattern", pattern)
    return pattern.replace("{1}", format_date(local, style)).replace("{0}", format_time(local))


def format_time(value: datetime | time | None, style: str = "short") -> str:
    """A clock time ("14:05", "오후 2:05", "2:05 PM"); a stored moment is moved onto the viewer's clock first."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = _on_clock(value)
    if _reader().language == "en" and style in ENGLISH_CLOCKS:
        return babel_dates.format_time(value, format=ENGLISH_CLOCKS[style], locale=_reader())
    return babel_dates.format_skeleton(CLOCK if style == "short" else style, value, locale=_reader())


def format_number(value: int | float | Decimal | None, digits: int | None = None, *, up_to: int | None = None) -> str:
    """A number with the reader's grouping and decimal sign ("1.234,5", "1,234.5"): ``digits`` after
    the sign always, or ``up_to`` that many when they are not zeros."""
    if value is None:
        return "—"
    if digits is None and up_to is None:
        return babel_numbers.format_decimal(value, locale=_reader())
    pattern = "#,##0" + ("." + "0" * (digits or 0) + "#" * (up_to or 0) if digits or up_to else "")
    return babel_numbers.format_decimal(value, format=pattern, locale=_reader())


def format_percent(value: float | Decimal | None, digits: int = 0) -> str:
    """A share (0.42) as the reader writes a percentage ("42 %", "42%")."""
    if value is None:
        return "—"
    return babel_numbers.format_percent(value, format="#,##0" + ("." + "0" * digits if digits else "") + "%",
                                        locale=_reader())
