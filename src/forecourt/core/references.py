"""Short random references that people read out or type: order numbers, payment references."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

# Crockford's base 32 without I, L, O, U: nothing that reads as another symbol at a desk or on the phone.
SYMBOLS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def fresh(session: Session, column, prefix: str, groups: tuple[int, ...]) -> str:
    """``prefix`` and random groups of symbols joined by dashes ("FO-7KQ-2M9"), unused in ``column``."""
    while True:
        candidate = "-".join([prefix, *("".join(secrets.choice(SYMBOLS) for _ in range(n)) for n in groups)])
        if session.scalars(select(column).where(column == candidate)).first() is None:
            return candidate
