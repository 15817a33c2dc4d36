"""Demo data: workshop."""

from __future__ import annotations

from datetime import datetime
from random import Random

from sqlalchemy.orm import Session


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    """Writes the demo's workshop rows after customers, cars and consents exist; returns row counts by table."""
    return {}
