"""Translation markers for every text a person reads.

Code marks texts with ``_("...")`` (or ``ngettext`` for plurals, ``lazy_gettext`` for texts defined
at import time, such as choices in a module constant), and templates with ``{{ _("...") }}`` or
``{% trans %}``. The language of the current request or job lives in a context variable, so a
service that writes an e-mail for a German customer does not need a ``locale`` argument threaded
through every call. Until the catalogues are loaded, a marked text reads as written (English).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

DEFAULT_LOCALE = "en"

_locale: ContextVar[str] = ContextVar("forecourt_locale", default=DEFAULT_LOCALE)


class Catalogue(Protocol):
    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


_catalogues: dict[str, Catalogue] = {}


def install_catalogue(locale: str, catalogue: Catalogue) -> None:
    """Makes ``catalogue`` answer for ``locale`` (loaded once per process by the i18n setup)."""
    _catalogues[locale] = catalogue


def current_locale() -> str:
    return _locale.get()


@contextmanager
def use_locale(locale: str | None) -> Iterator[str]:
    """Speak ``locale`` inside the block (a request, an e-mail to one customer, a job's step)."""
    token = _locale.set(locale or DEFAULT_LOCALE)
    try:
        yield _locale.get()
    finally:
        _locale.reset(token)


def translate(message: str) -> str:
    """The message in the current language, unformatted (Jinja's newstyle gettext formats it)."""
    catalogue = _catalogues.get(_locale.get())
    return catalogue.gettext(message) if catalogue else message


def translate_plural(singular: str, plural: str, n: int) -> str:
    catalogue = _catalogues.get(_locale.get())
    return catalogue.ngettext(singular, plural, n) if catalogue else (singular if n == 1 else plural)


def gettext(message: str, **values: Any) -> str:
    text = translate(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    return translate_plural(singular, plural, n) % ({"num": n} | values)


class LazyText(str):
    """A text translated when it is shown, not when its module is imported."""

    def __new__(cls, message: str):
        obj = super().__new__(cls, message)
        obj.message = message
        return obj

    def __str__(self) -> str:
        return gettext(self.message)


def lazy_gettext(message: str) -> LazyText:
    return LazyText(message)


_ = gettext
