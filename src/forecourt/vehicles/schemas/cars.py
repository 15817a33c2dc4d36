"""Cars, their catalogue, owners and service book, as the API takes and gives them."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field, field_validator

from forecourt.core.errors import Invalid
from forecourt.core.schemas import Day, Id, Input, Moment, Output
from forecourt.vehicles.service import normalise_vin


class TrimOut(Output):
    id: int
    code: str
    name: str
    propulsion: str
    year_from: int
    year_to: int | None
    base_price: float


class ModelOut(Output):
    id: int
    code: str
    name: str
    body: str
    year_from: int
    year_to: int | None
    trims: list[TrimOut]


class VehicleIn(Input):
    vin: str = Field(description="17 characters, ISO 3779, with a valid check digit")
    trim_id: Id
    model_year: int = Field(ge=1980, le=2100)
    colour: str | None = Field(default=None, max_length=40)
    production_date: Day | None = None
    registration: str | None = Field(default=None, max_length=16)

    @field_validator("vin")
    @classmethod
    def _vin(cls, value: str) -> str:
        try:
            return normalise_vin(value)
        except Invalid as error:
            raise ValueError(error.message) from None


class ServiceDealerIn(Input):
    service_dealer_id: Id


class SaleIn(Input):
    """A sale from the dealer's own stock, dated by the server (there is no date to send)."""

    customer_id: Id


class SaleStartOut(Output):
    """The code the seller gives the buyer: shown once, only its digest is kept."""

    id: int
    vin: str
    code: str
    expires_at: datetime


class SaleCodeIn(Input):
    code: str = Field(min_length=1, max_length=40)


class PendingSaleOut(Output):
    id: int
    vin: str
    created_at: datetime
    expires_at: datetime


class OwnershipCorrectionIn(Input):
    """The carmaker's correction: to a customer (or to nobody), why, and optionally from when."""

    customer_id: Id | None
    reason: str = Field(min_length=10, max_length=500)
    effective_at: Moment | None = Field(default=None, description=(
        "when the change really happened; not in the future and not before the car's last recorded "
        "owner or service (default: now)"))


class VehicleOut(Output):
    id: int
    vin: str
    model_year: int
    colour: str | None
    registration: str | None
    production_date: date | None
    model_name: str
    trim_name: str
    propulsion: str
    selling_dealer_id: int | None
    service_dealer_id: int | None


class ServiceRecordOut(Output):
    id: int
    vehicle_id: int
    dealer_id: int | None
    performed_on: date
    odometer_km: int
    kind: str
    summary: str
    operations: list
    total_cost: float


class OwnershipOut(Output):
    vehicle_id: int
    started_at: datetime
    ended_at: datetime | None
    acquisition: str | None = None
