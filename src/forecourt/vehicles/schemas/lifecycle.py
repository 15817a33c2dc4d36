"""Request and response bodies of warranty, extended warranty and work orders."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from forecourt.core.schemas import Day, Input, Output


class ComponentTermsIn(Input):
    component: str = Field(min_length=1, max_length=40, description="e.g. powertrain, battery")
    years: int = Field(ge=1, le=30)
    km: int = Field(ge=1, le=1_000_000)
    propulsion: list[str] | None = Field(default=None, description="only for these propulsions (e.g. electric)")


class WarrantyTermsIn(Input):
    years: int = Field(ge=1, le=30)
    km: int = Field(ge=1, le=1_000_000)
    market: str = Field(default="DE", min_length=2, max_length=2)
    components: list[ComponentTermsIn] = Field(default_factory=list, max_length=20)


class WarrantyTermsOut(Output):
    model_id: int
    market: str
    years: int
    km: int
    components: list[dict]


class CoverLineOut(Output):
    component: str
    name: str
    source: str
    status: str
    words: str
    starts_on: date | None
    expires_on: date
    km_limit: int
    days_left: int
    km_left: int | None


class ContractLineOut(Output):
    id: int
    product_code: str
    name: str
    starts_on: date
    expires_on: date
    km_limit: int
    price: float
    currency: str = "EUR"
    status: str
    words: str


class CoverageOut(Output):
    vin: str
    model: str
    market: str
    status: str
    words: str
    starts_on: date | None
    start_basis: str
    expires_on: date | None
    km_limit: int | None
    days_left: int | None
    km_left: int | None
    odometer_km: int | None
    odometer_source: str | None
    time_used_percent: int | None
    km_used_percent: int | None
    lines: list[CoverLineOut]
    contracts: list[ContractLineOut]
    purpose: str | None = None  # what the reader read it for (the owner: none)


class WarrantyProductOut(Output):
    code: str
    name: str
    model_id: int | None
    years: int
    km: int
    price: float
    currency: str = "EUR"
    components: list[str]


class ExtendedWarrantyIn(Input):
    product_code: str = Field(min_length=1, max_length=32)


class WarrantyOfferOut(Output):
    """An extended warranty offered to the owner: a contract only once the owner accepts it."""

    id: int
    vehicle_id: int
    vin: str
    product_code: str
    product_name: str
    dealer_id: int
    dealer_name: str
    price: float
    currency: str = "EUR"
    status: str
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    contract_id: int | None


class WarrantyContractOut(Output):
    id: int
    vehicle_id: int
    product_id: int
    sold_by_dealer_id: int | None
    starts_on: date
    ends_on: date
    km_limit: int
    price: float


class OperationIn(Input):
    code: str | None = Field(default=None, max_length=24)
    description: str = Field(min_length=1, max_length=200)
    hours: float = Field(default=0, ge=0, le=100)


class PartIn(Input):
    number: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=120)
    quantity: float = Field(default=1, gt=0, le=1000)
    unit_price: float = Field(default=0, ge=0, le=1_000_000)


class WorkOrderIn(Input):
    performed_on: Day
    # The bounds are checked by the service, so the advisor gets a sentence rather than "less than or equal".
    odometer_km: int
    kind: str = Field(default="repair", max_length=24)
    summary: str = Field(min_length=1, max_length=2000)
    operations: list[OperationIn] = Field(default_factory=list, max_length=100)
    parts: list[PartIn] = Field(default_factory=list, max_length=200)
    dtcs_cleared: list[str] = Field(default_factory=list, max_length=50)
    warranty_amount: float = Field(default=0, ge=0, le=1_000_000)
    customer_amount: float = Field(default=0, ge=0, le=1_000_000)
    appointment_id: int | None = Field(default=None, description=(
        "the booked appointment of this dealer the work was done on; without one the odometer is not the "
        "car's recorded mileage and the work order is no reference for warranty work"))


class ServiceBookEntryOut(Output):
    id: int
    work_order_number: str | None
    dealer_id: int | None
    dealer_name: str | None
    performed_on: date
    odometer_km: int
    kind: str
    summary: str
    operations: list[dict]
    parts: list[dict]
    dtcs_cleared: list[str]
    warranty_amount: float
    customer_amount: float
    total_cost: float
    currency: str = "EUR"  # of the three amounts: the workshop's market's
    odometer_flag: str | None
    odometer_note: str | None
    appointment_id: int | None = None
    counts_for_mileage: bool = True


class WorkOrderOut(Output):
    """What the recording dealer gets back; ``service_book`` is the whole book only with the owner's consent."""

    work_order: ServiceBookEntryOut
    full_book: bool
    service_book: list[ServiceBookEntryOut]
