"""Workshop tables: appointments on bays, the slots they hold, owners' availability, courtesy cars.

Double-booking is impossible by construction: an appointment claims one ``workshop_bay_slots`` row
per 30-minute step of its bay, and the primary key (dealer, bay, start) refuses a second claim on
every engine — no lock ordering or isolation level to get right.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime

SLOT_MINUTES = 30


class Appointment(Base):
    """A car booked into a dealer's bay: proposed by Forecourt, asked for by the owner or made by an advisor."""

    __tablename__ = "workshop_appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    bay: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    job: Mapped[str] = mapped_column(String(24))  # inspection | oil_service | diagnosis | brakes | tyres | recall | battery
    reason: Mapped[str] = mapped_column(Text, default="")  # in words: "Engine warning P0301 since Tuesday"
    source: Mapped[str] = mapped_column(String(12))  # proactive | owner | advisor
    # confirmed | checked_in | done | cancelled
    status: Mapped[str] = mapped_column(String(12), default="confirmed")
    dtc_codes: Mapped[list] = mapped_column(JSON, default=list)
    recall_campaign_ids: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    # What the driver noticed, picked from ``workshop.symptoms`` and said in their words; customer data.
    symptoms: Mapped[list] = mapped_column(JSON, default=list)
    symptom_notes: Mapped[str] = mapped_column(Text, default="")
    # What the advisor found: the dealer's own record of the visit.
    findings: Mapped[str] = mapped_column(Text, default="")
    findings_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_workshop_appointments_dealer_start", "dealer_id", "starts_at"),)


class BaySlot(Base):
    """One 30-minute step of one bay, claimed by one appointment; released by deleting the row."""

    __tablename__ = "workshop_bay_slots"

    dealer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    bay: Mapped[int] = mapped_column(Integer, primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("workshop_appointments.id"), index=True)


class Proposal(Base):
    """Slots Forecourt offers an owner because the car needs the workshop; one click books one."""

    __tablename__ = "workshop_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    job: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text)
    dtc_codes: Mapped[list] = mapped_column(JSON, default=list)
    # [{"starts_at": iso, "ends_at": iso, "bay": n}], best first
    slots: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | booked | declined | expired
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("workshop_appointments.id"))
    # What raised it, so the same fault does not propose twice ("dtc:P0301", "service_due").
    cause: Mapped[str] = mapped_column(String(64))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)  # a red warning: the earliest time, and why
    auto_booked: Mapped[bool] = mapped_column(Boolean, default=False)  # booked by the owner's standing permission
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Availability(Base):
    """When an owner can bring the car in: a weekday and a time window (local time)."""

    __tablename__ = "workshop_availability"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    from_time: Mapped[str] = mapped_column(String(5))  # "08:00"
    to_time: Mapped[str] = mapped_column(String(5))


class Loaner(Base):
    """A courtesy car of a dealer's fleet."""

    __tablename__ = "workshop_loaners"

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class LoanerBooking(Base):
    """A courtesy car lent for an appointment, with the preset that makes it feel like the driver's own."""

    __tablename__ = "workshop_loaner_bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    loaner_id: Mapped[int] = mapped_column(ForeignKey("workshop_loaners.id"), index=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("workshop_appointments.id"), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # {"radio_presets": [...], "navigation_favourites": [...], "seat_position": {...}, "why": "..."}
    preset: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")  # why this car: "You test-drove a Terra in May"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # The car is out between these two; a return frees it for the next booking.
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoanerHandover(Base):
    """The courtesy car's condition when it went out (``handover``) or came back (``return``): its history."""

    __tablename__ = "workshop_loaner_handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    loaner_id: Mapped[int] = mapped_column(ForeignKey("workshop_loaners.id"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("workshop_loaner_bookings.id"))
    kind: Mapped[str] = mapped_column(String(12))  # handover | return
    odometer_km: Mapped[int] = mapped_column(Integer)
    energy_percent: Mapped[int] = mapped_column(Integer)  # fuel or charge, 0–100
    damage_notes: Mapped[str] = mapped_column(Text, default="")
    photos: Mapped[list] = mapped_column(JSON, default=list)  # links to the photos taken at the car
    late_minutes: Mapped[int | None] = mapped_column(Integer)  # a return: after the agreed end
    extra_km: Mapped[int | None] = mapped_column(Integer)  # a return: driven since the hand-over
    recorded_by_user_id: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (UniqueConstraint("booking_id", "kind"),)
