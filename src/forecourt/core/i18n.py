"""Translation markers for every text a person reads.

Code marks texts with ``_("...")`` (or ``ngettext`` for plurals, ``lazy_gettext`` for texts defined
at import time, such as choices in a module constant), and templates with ``{{ _("...") }}`` or
``{% trans %}``. The language of the current request or job lives in a context variable, so a
service that writes an e-mail for a German customer does not need a ``locale`` argument threaded
through every call.

The catalogues are gettext ``.po`` files under ``forecourt/locale`` (``make messages`` extracts and
updates them, see docs/architecture.md). They are compiled in memory by Babel the first time a
language is spoken in a process, so a fresh checkout needs no build step and no ``.mo`` file can be
older than its ``.po``. Fuzzy entries are left out: a text a translator has not confirmed reads in
English rather than wrong.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger("forecourt.i18n")

DEFAULT_LOCALE = "en"
# The languages Forecourt speaks, each named in itself (as a language switch shows them).
LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch", "ko": "한국어"}
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"

_locale: ContextVar[str] = ContextVar("forecourt_locale", default=DEFAULT_LOCALE)


class Catalogue(Protocol):
    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


_catalogues: dict[str, Catalogue] = {}
_loading = threading.Lock()


def install_catalogue(locale: str, catalogue: Catalogue) -> None:
    """Makes ``catalogue`` answer for ``locale`` (loaded once per process by the i18n setup)."""
    _catalogues[locale] = catalogue


def load_catalogue(locale: str) -> Catalogue | None:
    """The compiled catalogue of ``locale`` from its ``.po`` file, without fuzzy entries (None if there is none)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return None
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


def _catalogue(locale: str) -> Catalogue | None:
    found = _catalogues.get(locale)
    if found is not None or locale == DEFAULT_LOCALE or locale not in LANGUAGES:
        return found
    with _loading:
        if locale not in _catalogues:
            loaded = load_catalogue(locale)
            if loaded is None:
                log.warning("No catalogue for %r under %s; its pages read in English.", locale, LOCALE_DIR)
            _catalogues[locale] = loaded or _Untranslated()
    return _catalogues[locale]


class _Untranslated:
    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural


def supported(code: str | None) -> str | None:
    """The language of ours that ``code`` names ("ko-KR", "de_AT", "EN" -> "ko", "de", "en"), else None."""
    if not code or not isinstance(code, str) or len(code) > 35:
        return None
    base = code.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The language we speak that a browser's ``Accept-Language`` prefers most, or None.

    "ko-KR,ko;q=0.9,en-US;q=0.8" -> "ko"; weights are honoured, "*" and malformed parts are skipped."""
    if not header or len(header) > 1000:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _sep, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        language = supported(tag)
        if language and weight > 0:
            ranked.append((-weight, position, language))
    return min(ranked)[2] if ranked else None


def language_name(code: str) -> str:
    return LANGUAGES.get(code, code)


def check_language(code: str | None, *, field: str = "language") -> str:
    """A language fit to store ("ko-KR" -> "ko"), or ``Invalid`` naming the languages there are, in words."""
    from forecourt.core.errors import Invalid

    found = supported(code)
    if found is None:
        raise Invalid(gettext("%(code)s is not a language Forecourt speaks; choose one of %(known)s.",
                              code=repr(str(code)[:35]), known=", ".join(LANGUAGES.values())), field=field)
    return found


def current_locale() -> str:
    return _locale.get()


def set_locale(locale: str) -> None:
    """For the rest of this request or task, speak ``locale`` (a request learns who asks part-way)."""
    _locale.set(locale or DEFAULT_LOCALE)


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
    catalogue = _catalogue(_locale.get())
    return catalogue.gettext(message) if catalogue else message


def translate_plural(singular: str, plural: str, n: int) -> str:
    catalogue = _catalogue(_locale.get())
    return catalogue.ngettext(singular, plural, n) if catalogue else (singular if n == 1 else plural)


def gettext(message: str, /, **values: Any) -> str:
    text = translate(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, /, **values: Any) -> str:
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


def N_(message: str) -> str:
    """Marks a text for the catalogues where it is defined, left as written; translated where it is read."""
    return message


class Labels(dict):
    """Code -> label, each label translated when it is read (``labels[code]``, ``.get``, ``.items()``).

    For the label tables modules define at import time, before anyone's language is known."""

    def __getitem__(self, key):
        return gettext(super().__getitem__(key))

    def get(self, key, default=None):
        return gettext(super().__getitem__(key)) if key in self else default

    def items(self):
        return [(key, gettext(value)) for key, value in super().items()]

    def values(self):
        return [gettext(value) for value in super().values()]

    def __iter__(self):
        return super().__iter__()


_ = gettext
