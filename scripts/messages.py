"""Extracts every marked text into the catalogue template and brings each language's catalogue up to date.

Run through ``make messages``. Texts new in the code arrive in each ``.po`` untranslated (or fuzzy,
when Babel guessed from a similar one) until a translator fills them; the test of the catalogues
fails until then. English is the language the texts are written in, so its catalogue is filled
with the texts themselves.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "src" / "forecourt" / "locale"
POT = LOCALE / "messages.pot"
LANGUAGES = ("en", "de", "ko")
KEYWORDS = ["-k", "_", "-k", "gettext", "-k", "ngettext:1,2", "-k", "lazy_gettext", "-k", "N_"]
OPTIONS = ["--sort-by-file", "--add-location=file", "--no-wrap"]


def pybabel(*args: str) -> None:
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "-q", *args], check=True, cwd=ROOT)


def main() -> None:
    pybabel("extract", "-F", "babel.cfg", *KEYWORDS, *OPTIONS, "--project=Forecourt",
            "-o", str(POT.relative_to(ROOT)), "src/forecourt")
    for language in LANGUAGES:
        po = LOCALE / language / "LC_MESSAGES" / "messages.po"
        if po.exists():
            pybabel("update", "-i", str(POT), "-o", str(po), "-l", language, "--ignore-obsolete",
                    "--no-wrap", *(["--no-fuzzy-matching"] if language == "en" else []))
        else:
            po.parent.mkdir(parents=True, exist_ok=True)
            pybabel("init", "-i", str(POT), "-o", str(po), "-l", language, "--no-wrap")
    fill_english(LOCALE / "en" / "LC_MESSAGES" / "messages.po")


def fill_english(path: Path) -> None:
    with path.open("rb") as f:
        catalog = read_po(f, locale="en")
    for message in catalog:
        if message.id:
            message.string = message.id
            message.flags.discard("fuzzy")
    with path.open("wb") as f:
        write_po(f, catalog, width=0, include_previous=False, omit_header=False)


if __name__ == "__main__":
    main()
