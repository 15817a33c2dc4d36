"""What sales tells the rest of the platform after commit."""

from __future__ import annotations

from dataclasses import dataclass

from forecourt.core import events


@events.durable("sales.car_delivered")
@dataclass(frozen=True)
class CarDelivered:
    """An order's car was handed over to its buyer."""

    order_id: int
    vehicle_id: int
    dealer_id: int
    customer_id: int


@events.durable("sales.test_drive_returned")
@dataclass(frozen=True)
class TestDriveReturned:
    """A test drive was logged as done (the car is back at the dealer)."""

    activity_id: int
    dealer_id: int
    customer_id: int | None
    model_id: int | None


@events.durable("sales.finance_contract_recorded")
@dataclass(frozen=True)
class FinanceContractRecorded:
    """A finance partner recorded a loan or lease for a car and its owner."""

    contract_id: int
    vehicle_id: int
    customer_id: int
    organization_id: int
