"""Every text the code marks is translated in every language, and no translation breaks its text.

The texts are extracted from the source as ``make messages`` does, so a new ``_()`` or
``{% trans %}`` without a German and a Korean translation fails here, not in front of a reader.
A fuzzy entry (Babel's guess from a similar text) counts as missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from forecourt.core import i18n

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "forecourt"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "N_": None}
METHODS = [("**.py", "python"), ("web/templates/**.html", "jinja2")]
PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)s")
TRANSLATED = ("de", "ko")


@pytest.fixture(scope="module")
def marked() -> set:
    found = set()
    options = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(SOURCE), method_map=METHODS, options_map=options, keywords=KEYWORDS):
        found.add(message)
    return found


def _catalogue(language: str):
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


def _key(message):
    return tuple(message) if isinstance(message, list | tuple) else message


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_marked_text_is_translated_and_none_is_fuzzy(marked, language):
    catalogue = _catalogue(language)
    entries = {_key(m.id): m for m in catalogue if m.id}
    missing = sorted(str(m) for m in marked if _key(m) not in entries)
    assert not missing, f"{len(missing)} texts are not in the {language} catalogue; run 'make messages' and " \
                        f"translate them: {missing[:10]}"
    empty = sorted(str(m.id) for key, m in entries.items() if key in {_key(x) for x in marked} and (
        not m.string or (isinstance(m.string, tuple) and not all(m.string))))
    fuzzy = sorted(str(m.id) for m in entries.values() if m.fuzzy)
    assert not empty, f"{len(empty)} texts have no {language} translation: {empty[:10]}"
    assert not fuzzy, f"{len(fuzzy)} {language} translations are fuzzy (unconfirmed): {fuzzy[:10]}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_their_placeholders_and_markup(language):
    broken = []
    for message in _catalogue(language):
        if not message.id or isinstance(message.id, tuple) or not message.string:
            continue
        if set(PLACEHOLDER.findall(message.id)) != set(PLACEHOLDER.findall(message.string)):
            broken.append(("placeholders", message.id))
        if sorted(re.findall(r"<[^>]+>", message.id)) != sorted(re.findall(r"<[^>]+>", message.string)):
            broken.append(("markup", message.id))
        try:
            message.string % {name[2:-2]: "x" for name in PLACEHOLDER.findall(message.id)}
        except (KeyError, ValueError, TypeError):
            broken.append(("format", message.id))
    assert not broken, broken[:10]


def test_the_catalogues_compile_and_answer():
    for language in TRANSLATED:
        catalogue = i18n.load_catalogue(language)
        assert catalogue is not None
        assert catalogue.gettext("Log in") != "Log in"
    with i18n.use_locale("ko"):
        assert i18n._("Log in") == "로그인"
        assert i18n.ngettext("%(count)s unread message.", "%(count)s unread messages.", 3, count=3) == \
            "읽지 않은 메시지 3개."
    with i18n.use_locale("de"):
        assert i18n._("%(name)s is active.", name="Lena") == "Lena ist aktiv."


def test_a_language_is_recognised_in_its_usual_spellings():
    assert [i18n.supported(code) for code in ("ko-KR", "de_AT", "EN", "fr", "", None, "x" * 50)] == \
        ["ko", "de", "en", None, None, None, None]
    assert i18n.from_accept_language("fr-FR,ko;q=0.9,en;q=0.8") == "ko"
    assert i18n.from_accept_language("en;q=0.2, de-DE;q=0.7, *;q=0.1") == "de"
    assert i18n.from_accept_language("fr, it;q=bad") is None
    with pytest.raises(Exception, match="not a language Forecourt speaks"):
        i18n.check_language("fr")
