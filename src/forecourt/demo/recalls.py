"""Demo data: recalls."""

from __future__ import annotations

from datetime import datetime
from random import Random

from sqlalchemy.orm import Session


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    """Writes the demo's recalls rows after customers, cars and consents exist; returns row counts by table."""
    return {}
