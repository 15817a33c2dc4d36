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
    """The buyer asks to pay what is due now. Neither the amount nor a payment reference is the buyer's
    to send: the money counts when the card provider confirms it or the dealer's cashier records it."""

    kind: Literal["deposit", "balance"]


class VehicleAssignmentIn(Input):
    vin: str = Field(min_length=1, max_length=40)
    model_year: int | None = Field(default=None, ge=1990, le=2100)


class DeliveryIn(Input):
    """A time without a zone is the dealer's local time."""

    at: Moment


class PaymentOut(Output):
    """One movement of money on the order (receipt, reversal, refund), from the payments ledger."""

    payment_reference: str
    provider: str
    kind: str
    amount: float
    method: str
    at: datetime
    reversed: bool


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


class TillOrderOut(Output):
    """What the delivering dealer's cashier sees: the order and its money, not the buyer."""

    number: str
    status: str
    payment_state: str
    car: str
    price: float
    deposit: float
    paid: float
    outstanding: float
    created_at: datetime


class TillEntryOut(PaymentOut):
    id: int
    reverses_entry_id: int | None


class TillOrderDetailOut(TillOrderOut):
    payments: list[TillEntryOut]
