"""Loads every domain's tables onto the shared metadata (for migrations and schema checks)."""

from __future__ import annotations


def load_all() -> None:
    import forecourt.assist.models  # noqa: F401
    import forecourt.consent.models  # noqa: F401
    import forecourt.core.events  # noqa: F401
    import forecourt.core.heartbeats  # noqa: F401
    import forecourt.core.outbox  # noqa: F401
    import forecourt.customers.models  # noqa: F401
    import forecourt.engagement.nps.models  # noqa: F401
    import forecourt.engagement.models  # noqa: F401
    import forecourt.parties.models  # noqa: F401
    import forecourt.payments.models  # noqa: F401
    import forecourt.sales.models  # noqa: F401
    import forecourt.sharing.models  # noqa: F401
    import forecourt.telematics.models  # noqa: F401
    import forecourt.vehicles.models  # noqa: F401
    import forecourt.workshop.models  # noqa: F401
