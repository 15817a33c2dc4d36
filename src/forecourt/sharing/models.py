"""Car-sharing tables: hubs at dealers, their shared cars and tariffs, drivers' sharing profiles,
reservations and the 15-minute slots they hold, unlock codes, trip events, check-out/return
inspections with photos, damage reports and bills.

Double booking is impossible by construction, as in the workshop: a reservation claims one
``sharing_car_slots`` row per 15-minute step of its car, and the primary key (car, start) refuses a
second claim on every engine. A bill keeps its lines and total; when the driver is erased it stays,
unlinked (accounting), and is still reproducible from the recorded trip events it names.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime
from forecourt.core.money import currency_column

SLOT_MINUTES = 15


class Hub(Base):
    """A dealership that lends the brand's cars by the minute and for day-long test drives."""

    __tablename__ = "sharing_hubs"

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    # [[lat, lon], ...]: where a car may be returned (the dealer's yard and the street in front).
    geofence: Mapped[list] = mapped_column(JSON, default=list)
    hold_minutes: Mapped[int] = mapped_column(Integer, default=15)
    low_energy_percent: Mapped[int] = mapped_column(Integer, default=25)
    outside_return: Mapped[str] = mapped_column(String(8), default="refuse")  # refuse | fee
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (Index("ix_sharing_hubs_position", "latitude", "longitude"),)


class SharedCar(Base):
    """One of the hub's cars in the shared fleet; out of service while it is cleaned, repaired or missing."""

    __tablename__ = "sharing_cars"

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("sharing_hubs.id"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), unique=True)
    # Copied from the catalogue when the car joins, so the map search filters and answers without joins.
    model_id: Mapped[int] = mapped_column(Integer, index=True)
    propulsion: Mapped[str] = mapped_column(String(16))
    model_name: Mapped[str] = mapped_column(String(100), default="")
    trim_name: Mapped[str] = mapped_column(String(100), default="")
    title: Mapped[str] = mapped_column(String(220), default="")
    registration: Mapped[str | None] = mapped_column(String(16))
    out_of_service: Mapped[bool] = mapped_column(Boolean, default=False)
    service_note: Mapped[str] = mapped_column(Text, default="")
    needs: Mapped[str] = mapped_column(String(16), default="")  # "" | clean | charge | refuel
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Tariff(Base):
    """What a hub charges, per kind of booking, in its market's currency. A test drive is free by default."""

    __tablename__ = "sharing_tariffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("sharing_hubs.id"))
    kind: Mapped[str] = mapped_column(String(12))  # minute | test_drive
    currency: Mapped[str] = currency_column()
    unlock_fee: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    per_minute_driving: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    per_minute_parked: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    included_km: Mapped[int] = mapped_column(Integer, default=0)
    per_km_over: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    daily_cap: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    late_return_fee: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    low_energy_fee: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    outside_return_fee: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    deposit: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)

    __table_args__ = (UniqueConstraint("hub_id", "kind"),)


class SharingProfile(Base):
    """A driver's standing with car sharing: the terms they accepted and the licence check, done once."""

    __tablename__ = "sharing_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    terms_notice_version: Mapped[int | None] = mapped_column(Integer)
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    licence_number: Mapped[str | None] = mapped_column(String(40))
    licence_expires_on: Mapped[date | None] = mapped_column(Date)
    licence_note: Mapped[str] = mapped_column(Text, default="")
    licence_checked_by_user_id: Mapped[int | None] = mapped_column(Integer)
    licence_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The driver lets hub staff see where a booked car is (otherwise only when late, stolen or crashed).
    share_position: Mapped[bool] = mapped_column(Boolean, default=False)


# The purpose a booking's data (its positions, its photos) is kept and read for: the sharing contract.
CONTRACT_PURPOSE = "car_sharing"


class Reservation(Base):
    """A driver's booking of one shared car: held free for a while, then paid; picked up, returned, billed."""

    __tablename__ = "sharing_reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    car_id: Mapped[int] = mapped_column(ForeignKey("sharing_cars.id"), index=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("sharing_hubs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # minute | test_drive
    # held -> booked -> active (checked out) -> returned -> closed; or cancelled / expired
    status: Mapped[str] = mapped_column(String(12), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tariff: Mapped[dict] = mapped_column(JSON, default=dict)  # the tariff as agreed at booking
    deposit_payment_id: Mapped[int | None] = mapped_column(Integer)
    # Test drives: the driver lets the dealer see the trip summary (days driven, km).
    share_summary: Mapped[bool] = mapped_column(Boolean, default=False)
    car_unlocked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Reported stolen by the renter or the hub (audited); hub staff see the car's position until cleared.
    stolen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_sharing_reservations_car_time", "car_id", "starts_at"),)


class CarSlot(Base):
    """One 15-minute step of a car held by a reservation; the primary key refuses a second holder."""

    __tablename__ = "sharing_car_slots"

    car_id: Mapped[int] = mapped_column(ForeignKey("sharing_cars.id"), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("sharing_reservations.id"), index=True)


class UnlockCode(Base):
    """The one-time code that opens the car at pick-up; kept as a hash, valid only in the booking window."""

    __tablename__ = "sharing_unlock_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("sharing_reservations.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TripEvent(Base):
    """What happened on a trip, in order: the bill is computed from these rows alone."""

    __tablename__ = "sharing_trip_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("sharing_reservations.id"), index=True)
    # check_out | driving | parked | unlock | lock | command_failed | return
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    odometer_km: Mapped[float | None] = mapped_column(Float)
    energy_percent: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class Inspection(Base):
    """The car's condition at pick-up (``check_out``) or return: declaration, readings, where it stood."""

    __tablename__ = "sharing_inspections"

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("sharing_reservations.id"))
    kind: Mapped[str] = mapped_column(String(10))  # check_out | return
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    damage_declared: Mapped[str] = mapped_column(Text, default="")
    odometer_km: Mapped[float | None] = mapped_column(Float)
    energy_percent: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    outside_by_m: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("reservation_id", "kind"),)


class DamageReport(Base):
    """Damage seen on a shared car, shown at every later pick-up until the hub marks it fixed."""

    __tablename__ = "sharing_damage_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    car_id: Mapped[int] = mapped_column(ForeignKey("sharing_cars.id"), index=True)
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_reservations.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="reported")  # reported | repairing | fixed
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Photo(Base):
    """A photo taken at the car, of an inspection (and of the damage declared with it).

    The picture itself is a file named by its SHA-256 in the photo store (``sharing.photos``); the row
    says whose booking it belongs to, so it names the driver only through the booking: when they are
    erased, the booking is unlinked and the photo stays with the car's damage record, naming nobody.
    ``data`` holds pictures stored before the photo store existed.
    """

    __tablename__ = "sharing_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_reservations.id"), index=True)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_inspections.id"), index=True)
    damage_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_damage_reports.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(32))
    checksum: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Bill(Base):
    """The itemised bill of a reservation; kept, unlinked from the driver, when they are erased."""

    __tablename__ = "sharing_bills"

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_reservations.id"), unique=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("sharing_hubs.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    currency: Mapped[str] = currency_column()
    lines: Mapped[list] = mapped_column(JSON, default=list)  # [{"code", "quantity", "unit", "amount"}]
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
