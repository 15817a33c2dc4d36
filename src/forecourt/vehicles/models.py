"""The catalogue, vehicles by VIN, who owned them when, and the work done on them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime


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
    base_price: Mapped[float] = mapped_column(Numeric(10, 2))

    model: Mapped[VehicleModel] = relationship(back_populates="trims", lazy="joined")


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (Index("ix_service_records_vehicle_date", "vehicle_id", "performed_on"),)
