"""What the workshop tells the rest of the platform after commit."""

from __future__ import annotations

from dataclasses import dataclass

from forecourt.core import events


@events.durable("workshop.visit_closed")
@dataclass(frozen=True)
class VisitClosed:
    """A work order was written for a car: the visit is over (NPS asks the owner how it went)."""

    service_record_id: int
    vehicle_id: int
    dealer_id: int
    customer_id: int | None  # the owner the record names, None for a car nobody owns
