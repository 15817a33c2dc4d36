"""Bringing a database to the current schema and reference data."""

from __future__ import annotations

from forecourt.consent.catalogue import ensure_catalogue
from forecourt.core.config import Settings
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.migrations import upgrade
from forecourt.parties.markets import ensure_markets
from forecourt.sales.stages import ensure_default_stages


def prepare_database(settings: Settings) -> None:
    """Migrate to head and write the markets, purposes and notices; safe to run on every start."""
    upgrade(settings.database_url)
    with transaction(make_sessionmaker(get_engine(settings.database_url))) as session:
        ensure_markets(session)
        ensure_catalogue(session)
        ensure_default_stages(session=session)
