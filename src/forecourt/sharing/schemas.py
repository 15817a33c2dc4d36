"""Request and answer bodies of the car-sharing API (the app speaks these)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from forecourt.core.schemas import Day, Id, Input, Moment


class ReserveIn(Input):
    car_id: Id
    starts_at: Moment | None = None
    hours: float = Field(default=1.0, ge=0.25, le=72)
    kind: Literal["minute", "test_drive"] = "minute"
    share_summary: bool = False
    # The deposit the driver was shown; a different one (an altered form) is refused.
    quoted_deposit: Decimal | None = Field(default=None, ge=0, le=10_000_000, decimal_places=2)


class ExtendIn(Input):
    minutes: int = Field(ge=15, le=4320)


class UnlockIn(Input):
    vin: str = Field(min_length=11, max_length=17)
    code: str = Field(min_length=1, max_length=12)


class InspectionIn(Input):
    damage: str = Field(default="", max_length=2000)


class DamageStatusIn(Input):
    status: Literal["reported", "repairing", "fixed"]


class StolenIn(Input):
    stolen: bool = True


class PhotoOut(BaseModel):
    id: int
    stage: str  # check_out | return | damage
    content_type: str
    width: int | None
    height: int | None
    size_bytes: int | None
    taken_at: datetime
    url: str
    thumbnail_url: str


class LicenceIn(Input):
    number: str = Field(min_length=4, max_length=40)
    expires_on: Day
    note: str = Field(default="", max_length=1000)


class ServiceIn(Input):
    out_of_service: bool
    note: str = Field(default="", max_length=500)


class CarOut(BaseModel):
    car_id: int
    model_id: int
    model: str
    trim: str
    propulsion: str
    energy_percent: int | None
    range_km: int | None
    currency: str
    per_minute: Decimal
    per_minute_parked: Decimal
    unlock_fee: Decimal
    deposit: Decimal
    test_drive_price: Decimal


class HubOut(BaseModel):
    hub_id: int
    name: str
    latitude: float
    longitude: float
    distance_km: float
    cars: list[CarOut]


class ReservationOut(BaseModel):
    number: str
    kind: str
    status: str
    starts_at: datetime
    ends_at: datetime
    hold_until: datetime | None
    hub: str
    car: str
    vin: str
    car_unlocked: bool
    currency: str | None
    deposit: Decimal


class BillLineOut(BaseModel):
    code: str
    quantity: str
    unit: str
    amount: str


class BillOut(BaseModel):
    number: str
    currency: str
    total: Decimal
    lines: list[BillLineOut]


class ReservationDetailOut(ReservationOut):
    damage: list[str]
    problems: list[dict]
    bill: BillOut | None


class ProfileOut(BaseModel):
    terms_accepted: bool
    licence_checked: bool
    missing: list[str]
    reservations: list[ReservationOut]


class CodeOut(BaseModel):
    code: str
    valid_until: datetime


class CommandOut(BaseModel):
    command_id: int
    status: str
