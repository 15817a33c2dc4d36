"""The stages of a sale: the network's default process, which a dealer may replace with its own."""

from __future__ import annotations

from sqlalchemy.orm import Session


def ensure_default_stages(*, session: Session) -> None:
    """Writes the network's default stages if missing; safe to run on every start."""
