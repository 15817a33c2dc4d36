"""Online orders: what a customer sends to order and pay, what a dealer sends to deliver, what both read."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from forecourt.core.schemas import Id, Input, Moment, Output


class OrderIn(Input):
    configuration_code: str = Field(min_length=1, max_length=40)
    dealer_id: Id
    # "Allow <dealer> to contact me about this order": the dealer cannot deliver without reaching the buyer.
    allow_contact: bool = False


class PaymentIn(Input):
    """The amount is not the customer's to choose: the deposit or the outstanding balance is due."""

    kind: Literal["deposit", "balance"]
    # The payment provider's reference; sending the same one twice records one payment.
    reference: str | None = Field(default=None, min_length=6, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class VehicleAssignmentIn(Input):
    vin: str = Field(min_length=1, max_length=40)
    model_year: int | None = Field(default=None, ge=1990, le=2100)


class DeliveryIn(Input):
    """A time without a zone is the dealer's local time."""

    at: Moment


class PaymentOut(Output):
    kind: str
    amount: float
    reference: str
    received_at: datetime


class DealerOut(Output):
    id: int
    name: str
    street: str | None
    postcode: str | None
    city: str | None
    phone: str | None
    email: str | None


class BuyerOut(Output):
    id: int
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None


class OrderOut(Output):
    number: str
    status: str
    payment_state: str
    configuration_code: str
    car: str
    colour: str | None
    price: float
    deposit: float
    paid: float
    outstanding: float
    dealer: DealerOut
    vin: str | None
    delivery_at: datetime | None
    handed_over_at: datetime | None
    created_at: datetime
    payments: list[PaymentOut]


class DealerOrderOut(OrderOut):
    buyer: BuyerOut | None
    commission: float | None
    commission_rule: str


class DealerOrderLine(Output):
    """A line of the dealer's delivery list: no personal data, the order page opens the buyer."""

    number: str
    status: str
    payment_state: str
    car: str
    price: float
    vin: str | None
    delivery_at: datetime | None
    created_at: datetime
