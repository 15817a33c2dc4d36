"""Request and response bodies of the owner's On Call subscription routes."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from forecourt.core.schemas import Input, Output
from forecourt.payments.schemas import PaymentRequestOut


class RenewalIn(Input):
    """A renewal to pay for. No payment reference: the owner does not say they paid, the card provider
    or the carmaker's staff record it."""

    years: int = Field(1, ge=1, le=5)
    plan: Literal["renewal", "phone_app"] = "renewal"


class SubscriptionOut(Output):
    vehicle_id: int
    plan: str
    starts_on: date
    ends_on: date
    price: float
    in_force: bool  # false until the payment is received


class StatusOut(Output):
    state: str  # active | expiring | expired | none
    plan: str | None
    plan_name: str | None
    starts_on: date | None
    ends_on: date | None
    days_left: int | None
    in_words: str
    progress_percent: int


class CarOnCallOut(Output):
    vin: str
    model: str
    model_year: int
    embedded_unit: bool
    phone_device: bool
    renewal_price: float
    phone_app_price: float
    status: StatusOut


class RenewalOut(Output):
    subscription: SubscriptionOut
    payment: PaymentRequestOut
