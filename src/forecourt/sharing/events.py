"""What car sharing tells other domains: a test drive booked (a lead for the hub's dealer) and returned
(a follow-up for the dealer), and any shared car returned (the satisfaction survey after it).
Durable: written with the booking or return and delivered after its commit."""

from __future__ import annotations

from dataclasses import dataclass

from forecourt.core import events


@events.durable("sharing.test_drive_booked")
@dataclass(frozen=True)
class ModelTrialBooked:
    reservation_id: int
    customer_id: int
    dealer_id: int
    model_id: int
    allow_contact: bool


@events.durable("sharing.test_drive_returned")
@dataclass(frozen=True)
class ModelTrialReturned:
    reservation_id: int
    customer_id: int
    dealer_id: int
    model_id: int
    # With the driver's permission only: what the dealer may read about the trip.
    days: float | None = None
    km: float | None = None


@events.durable("sharing.car_returned")
@dataclass(frozen=True)
class SharedCarReturned:
    """A driver gave a shared car back, after a trip by the minute or a day-long test drive."""

    reservation_id: int
    customer_id: int
    dealer_id: int
    vehicle_id: int
    kind: str  # minute | test_drive
