"""Configuration codes: short enough to read over the phone, hard to get wrong, impossible to guess.

A code is 7 random symbols and 1 check symbol from Crockford's base 32 (digits and letters without
I, L, O and U, so nothing looks like anything else). The check symbol is a weighted sum modulo 37,
a prime: every single mistyped symbol and every swap of two symbols changes it, so a customer who
reads "7KQ2-M97K" instead of "7KQ2-M97X" hears "this code has a typo", never someone else's car.
(Sums of 32 to 36 have no symbol among the 32, so codes whose sum lands there are simply drawn again.)
32**7 codes (34 billion) make guessing one pointless, and ``secrets`` makes them unpredictable.
"""

from __future__ import annotations

import secrets
from random import Random

from forecourt.core.errors import Invalid
from forecourt.core.i18n import _

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_SYMBOLS = 7
LENGTH = RANDOM_SYMBOLS + 1
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
# What people type for what they read: Crockford's decoding, so "O" and "o" mean zero, "I" and "L" one.
_READS_AS = {"O": "0", "I": "1", "L": "1"}
_SEPARATORS = " -–—_.\t"
_SYSTEM_RANDOM = secrets.SystemRandom()
EXAMPLE = "7KQ2-M97X"  # a well-formed code, for messages


def _check_value(body: str) -> int:
    return sum((position + 1) * _VALUE[symbol] for position, symbol in enumerate(body)) % 37


def new_code(random: Random | None = None) -> str:
    """A fresh code (without the dash). ``random`` is for tests; in use the system's secure source."""
    source = random or _SYSTEM_RANDOM
    while True:
        body = "".join(source.choice(ALPHABET) for _ in range(RANDOM_SYMBOLS))
        check = _check_value(body)
        if check < len(ALPHABET):
            return body + ALPHABET[check]


def is_well_formed(code: str) -> bool:
    return (len(code) == LENGTH and all(symbol in _VALUE for symbol in code)
            and _check_value(code[:-1]) == _VALUE[code[-1]])


def normalise_code(text: str) -> str:
    """What the customer typed or pasted (lower case, spaces, dashes, even the page's address) to the code."""
    candidate = (text or "").strip()
    if "/" in candidate:  # a pasted link to the configuration page: the code is its last part
        candidate = candidate.rstrip("/").rsplit("/", 1)[-1]
    candidate = "".join(symbol for symbol in candidate.upper() if symbol not in _SEPARATORS)
    candidate = "".join(_READS_AS.get(symbol, symbol) for symbol in candidate)
    if not candidate:
        raise Invalid(_("Enter a configuration code; it looks like %(example)s.", example=EXAMPLE), field="code")
    wrong = sorted({symbol for symbol in candidate if symbol not in _VALUE})
    if wrong:
        shown = ", ".join(f"'{symbol}'" for symbol in wrong)
        raise Invalid(_("A configuration code has only digits and the letters A to Z without I, L, O and U; this one has %(shown)s.", shown=shown), field="code")
    if len(candidate) != LENGTH:
        raise Invalid(_("A configuration code has %(length)s characters, like %(example)s; this one has %(len)s.", length=LENGTH, example=EXAMPLE, len=len(candidate)), field="code")
    if not is_well_formed(candidate):
        raise Invalid(_("This configuration code has a typo: its characters do not add up. Please check each one."),
                      field="code")
    return candidate


def display_code(code: str) -> str:
    """Two groups of four, for reading aloud and typing back: "7KQ2-M97X"."""
    return f"{code[:4]}-{code[4:]}" if len(code) == LENGTH else code
