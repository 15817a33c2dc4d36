"""The catalogue, vehicles by VIN, who owned them when, and the work done on them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime
from forecourt.core.money import currency_column


class VehicleModel(Base):
    __tablename__ = "vehicle_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(String(32))  # hatchback | saloon | estate | suv | van
    year_from: Mapped[int] = mapped_column(Integer)
    year_to: Mapped[int | None] = mapped_column(Integer)

    trims: Mapped[list[Trim]] = relationship(back_populates="model", order_by="Trim.id")


class Trim(Base):
    __tablename__ = "trims"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("vehicle_models.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    propulsion: Mapped[str] = mapped_column(String(16))  # petrol | diesel | hybrid | plug_in_hybrid | electric
    year_from: Mapped[int] = mapped_column(Integer)
    year_to: Mapped[int | None] = mapped_column(Integer)
    # The list price in the carmaker's home market; other markets' prices are ``TrimPrice`` rows.
    base_price: Mapped[float] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = currency_column()

    model: Mapped[VehicleModel] = relationship(back_populates="trims", lazy="joined")


class TrimPrice(Base):
    """A trim's list price in one market, in that market's currency; no row: not sold there
    (unless the market's currency is the trim's own, where ``Trim.base_price`` applies)."""

    __tablename__ = "trim_prices"

    trim_id: Mapped[int] = mapped_column(ForeignKey("trims.id"), primary_key=True)
    market: Mapped[str] = mapped_column(ForeignKey("markets.code"), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))


class Vehicle(Base):
    __tablename__ = "vehicles"

    id: Mapped[int] = mapped_column(primary_key=True)
    vin: Mapped[str] = mapped_column(String(17), unique=True)
    trim_id: Mapped[int] = mapped_column(ForeignKey("trims.id"), index=True)
    model_year: Mapped[int] = mapped_column(Integer)
    colour: Mapped[str | None] = mapped_column(String(40))
    production_date: Mapped[date | None] = mapped_column(Date)
    registration: Mapped[str | None] = mapped_column(String(16))
    selling_dealer_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    service_dealer_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    trim: Mapped[Trim] = relationship(lazy="joined")

    @property
    def model_name(self) -> str:
        return self.trim.model.name

    @property
    def trim_name(self) -> str:
        return self.trim.name

    @property
    def propulsion(self) -> str:
        return self.trim.propulsion

    @property
    def title(self) -> str:
        return f"{self.model_year} {self.trim.model.name} {self.trim.name}"


class Ownership(Base):
    """One owner's period with a car. ``customer_id`` becomes NULL when that owner is erased."""

    __tablename__ = "ownerships"

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sold_by_dealer_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    # How this owner came to have the car: dealer_sale | private_sale | correction (NULL: recorded earlier).
    acquisition: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (Index("ix_ownerships_vehicle_started", "vehicle_id", "started_at"),)


class ServiceRecord(Base):
    """Work done on a car. Belongs to the car, so it survives the owner's erasure."""

    __tablename__ = "service_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    # The owner at the time, for the portal and export; NULL once that owner is erased.
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    performed_on: Mapped[date] = mapped_column(Date)
    odometer_km: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))  # inspection | oil_service | tyres | repair | recall | warranty
    summary: Mapped[str] = mapped_column(Text)
    operations: Mapped[list] = mapped_column(JSON, default=list)
    total_cost: Mapped[float] = mapped_column(Numeric(10, 2), default=0)
    currency: Mapped[str] = currency_column()  # of total_cost, warranty_amount, customer_amount and parts
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # A dealer's work order: its number, the parts fitted ([{"number", "name", "quantity", "price"}]),
    # the fault codes cleared, and who pays what (warranty + customer = total).
    work_order_number: Mapped[str | None] = mapped_column(String(24))
    parts: Mapped[list] = mapped_column(JSON, default=list)
    dtcs_cleared: Mapped[list] = mapped_column(JSON, default=list)
    warranty_amount: Mapped[float] = mapped_column(Numeric(10, 2), default=0)
    customer_amount: Mapped[float] = mapped_column(Numeric(10, 2), default=0)
    # Set when the odometer is lower than an earlier reading ("rollback"), kept as evidence, never hidden.
    odometer_flag: Mapped[str | None] = mapped_column(String(24))
    # What the flagged reading was compared against ("below 84,200 km recorded on 2025-03-02 by ...").
    odometer_note: Mapped[str | None] = mapped_column(String(200))
    recall_campaign_id: Mapped[int | None] = mapped_column(ForeignKey("recall_campaigns.id"))
    # The booked appointment this work order was opened against (checked by ``workshop.visits``).
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("workshop_appointments.id"))
    # Whether its odometer is the car's recorded mileage: not for a work order with no appointment
    # behind it, which any dealer could write about any car.
    counts_for_mileage: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (Index("ix_service_records_vehicle_date", "vehicle_id", "performed_on"),)


# --- warranty ----------------------------------------------------------------------------------------

class WarrantyTerms(Base):
    """The carmaker's new-car warranty for a model in a market: years, kilometres, what it covers."""

    __tablename__ = "warranty_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("vehicle_models.id"), index=True)
    market: Mapped[str] = mapped_column(String(2), default="DE")
    years: Mapped[int] = mapped_column(Integer)
    km: Mapped[int] = mapped_column(Integer)
    # [{"component": "powertrain", "years": 5, "km": 100000}, ...]; components beyond the base terms.
    components: Mapped[list] = mapped_column(JSON, default=list)

    __table_args__ = (UniqueConstraint("model_id", "market"),)


class WarrantyProduct(Base):
    """An extended warranty a dealer can sell: more years and kilometres on top of the new-car terms."""

    __tablename__ = "warranty_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle_models.id"))  # NULL: every model
    years: Mapped[int] = mapped_column(Integer)
    km: Mapped[int] = mapped_column(Integer)
    price: Mapped[float] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = currency_column()
    components: Mapped[list] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class WarrantyContract(Base):
    """An extended warranty sold for one car; belongs to the car, so it passes to the next owner."""

    __tablename__ = "warranty_contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("warranty_products.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)  # the buyer
    sold_by_dealer_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    km_limit: Mapped[int] = mapped_column(Integer)
    price: Mapped[float] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = currency_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class WarrantyOffer(Base):
    """An extended warranty a dealer offers the car's owner; it becomes a contract only when the owner
    accepts it in the portal, since nobody may buy anything in the owner's name."""

    __tablename__ = "warranty_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("warranty_products.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)  # the owner offered to
    dealer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    price: Mapped[float] = mapped_column(Numeric(10, 2))
    status: Mapped[str] = mapped_column(String(12), default="offered")  # offered | accepted | declined | withdrawn
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("warranty_contracts.id"))


# --- recalls -----------------------------------------------------------------------------------------

class RecallCampaign(Base):
    """A safety or quality recall the carmaker runs; owners are told whatever their marketing choices."""

    __tablename__ = "recall_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    remedy: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(12))  # critical | high | medium | low
    labour_minutes: Mapped[int] = mapped_column(Integer, default=60)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # closed | superseded, once the carmaker ends it; the figures as they stood then are its final record
    outcome: Mapped[str | None] = mapped_column(String(12))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("recall_campaigns.id"))
    closing_reason: Mapped[str | None] = mapped_column(Text)
    affected_at_close: Mapped[int | None] = mapped_column(Integer)
    remedied_at_close: Mapped[int | None] = mapped_column(Integer)
    open_at_close: Mapped[int | None] = mapped_column(Integer)


class RecallScope(Base):
    """Which cars a campaign affects: any mix of model, trim, VIN range and production-date range."""

    __tablename__ = "recall_scopes"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("recall_campaigns.id"), index=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle_models.id"))
    trim_id: Mapped[int | None] = mapped_column(ForeignKey("trims.id"))
    vin_from: Mapped[str | None] = mapped_column(String(17))
    vin_to: Mapped[str | None] = mapped_column(String(17))
    produced_from: Mapped[date | None] = mapped_column(Date)
    produced_to: Mapped[date | None] = mapped_column(Date)


class RecallVehicle(Base):
    """One affected car of a campaign and how far its remedy has come."""

    __tablename__ = "recall_vehicles"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("recall_campaigns.id"))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="open")  # open | notified | booked | remedied
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remedied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remedied_by_dealer_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    reminders: Mapped[int] = mapped_column(Integer, default=0)  # reminders sent after the first notice
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("campaign_id", "vehicle_id"),
                      Index("ix_recall_vehicles_campaign_state", "campaign_id", "state"))
