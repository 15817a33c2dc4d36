"""Devices, the exactly-once message ledger, samples, positions, vehicle events and the live twin."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime

# Samples and positions outgrow 32-bit ids (migration 0028); SQLite's INTEGER primary key is its
# 64-bit rowid already, and a BIGINT one there would not number itself.
ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


class Device(Base):
    """Something that reports for a car: its embedded unit, its owner's phone, an aftermarket tracker."""

    __tablename__ = "telematics_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # embedded | phone | tracker
    identifier: Mapped[str] = mapped_column(String(64))  # VIN, phone id or IMEI
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    # SHA-256 of the device's random secret (a phone's is the token in the URL its app reports to)
    secret_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    label: Mapped[str | None] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The device's own latest state, not the car's: a phone's battery level, charging, motion,
    # alarm (``{"battery_percent": 78, "charging": true, ...}``), as of ``status_at``.
    status: Mapped[dict | None] = mapped_column(JSON)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The owner's period in which the owner paired it (NULL: fitted to the car by the carmaker); such a
    # device is the owner's, and stops reporting for the car when the car changes hands.
    ownership_id: Mapped[int | None] = mapped_column(ForeignKey("ownerships.id"))

    __table_args__ = (UniqueConstraint("kind", "identifier"),)


class ReceivedMessage(Base):
    """Every stored reading's key: a redelivered or resent message finds its key and is stored once.
    Kept for ``FORECOURT_LEDGER_KEEP_DAYS`` after it was received (``telematics.ledger``); on
    PostgreSQL partitioned by the month a key's leading time names (migration 0029), so compared
    byte by byte."""

    __tablename__ = "telematics_received"

    message_key: Mapped[str] = mapped_column(String(64).with_variant(String(64, collation="C"), "postgresql"),
                                             primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Sample(Base):
    """One VSS signal value at one moment (positions live in ``telematics_positions``)."""

    __tablename__ = "telematics_samples"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    path: Mapped[str] = mapped_column(String(160))
    value: Mapped[object] = mapped_column(JSON)

    # One index: a message's samples share a page of it (migration 0007 says why).
    __table_args__ = (Index("ix_telematics_samples_vehicle_time_path", "vehicle_id", "measured_at", "path"),)


class Position(Base):
    """Where the car was. Stored only while the owner allows location services; pruned by retention."""

    __tablename__ = "telematics_positions"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
    altitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(12))

    __table_args__ = (Index("ix_telematics_positions_vehicle_time", "vehicle_id", "measured_at"),)


class VehicleEventRecord(Base):
    """SOS, crash, tow, power cut, harsh driving, ignition: with the position, always kept for SOS and crash."""

    __tablename__ = "telematics_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    kind: Mapped[str] = mapped_column(String(24))
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(12))
    message_key: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_telematics_events_vehicle_time", "vehicle_id", "measured_at"),)


class TwinSignal(Base):
    """The latest value of every signal per vehicle: the live twin."""

    __tablename__ = "telematics_twin"

    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), primary_key=True)
    path: Mapped[str] = mapped_column(String(160), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Rejection(Base):
    """A message that could not be stored, why, and a bounded excerpt of it (counted, never silent)."""

    __tablename__ = "telematics_rejections"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # mqtt | http | osmand | teltonika
    device_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    excerpt: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    # The client that sent an HTTP report, so failed attempts are limited per client.
    address: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_telematics_rejections_address_at", "address", "at"),)


class Trip(Base):
    """One drive, from ignition or first movement to ignition off or a long stop.

    Derived from positions, samples and events, and kept so the vehicle page and the driving score
    read a car's trips without replaying its raw telemetry; only the latest trip is ever rebuilt.
    """

    __tablename__ = "telematics_trips"

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the last moment seen so far while open
    is_open: Mapped[bool] = mapped_column(Boolean, default=False)
    end_reason: Mapped[str] = mapped_column(String(16))  # ignition_off | stopped | open
    start_latitude: Mapped[float | None] = mapped_column(Float)
    start_longitude: Mapped[float | None] = mapped_column(Float)
    end_latitude: Mapped[float | None] = mapped_column(Float)
    end_longitude: Mapped[float | None] = mapped_column(Float)
    distance_km: Mapped[float] = mapped_column(Float, default=0.0)
    distance_source: Mapped[str] = mapped_column(String(12))  # odometer | gps | speed
    max_speed_kmh: Mapped[float | None] = mapped_column(Float)
    avg_speed_kmh: Mapped[float | None] = mapped_column(Float)
    route: Mapped[list] = mapped_column(JSON, default=list)  # [[lat, lon], ...], simplified
    driving_facts: Mapped[dict | None] = mapped_column(JSON)  # the score's inputs, cleared when the trip changes
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (UniqueConstraint("vehicle_id", "started_at"),)

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


class TripMark(Base):
    """Where a standing car's next trip rebuild may start reading (``telematics.trip_marks``)."""

    __tablename__ = "telematics_trip_marks"

    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), primary_key=True)
    latest_start: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the latest trip it belongs to (None: none)
    latest_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_from: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_until: Mapped[datetime] = mapped_column(UTCDateTime)  # the newest reading a rebuild saw ...
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)  # ... and when, on the clock


class HealthState(Base):
    """The health each car was last judged to be in, so every change is announced exactly once."""

    __tablename__ = "telematics_health"

    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # ok | info | service_soon | stop_safely
    dtc_codes: Mapped[list] = mapped_column(JSON, default=list)
    battery: Mapped[str] = mapped_column(String(12))  # ok | low | critical | unknown
    low_tyres: Mapped[list] = mapped_column(JSON, default=list)
    service: Mapped[str] = mapped_column(String(12))  # ok | due | overdue | unknown
    summary: Mapped[str] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VehicleCommand(Base):
    """A command sent to a car (unlock, lock, ...) and what became of it.

    Written with an outbox row in the requester's transaction; the row is what the driver, the hub and
    an operator read, so a command the car never answered is ``timed_out`` for everyone, never assumed
    done. A late answer is kept beside the outcome (``late_result``) without changing it."""

    __tablename__ = "vehicle_commands"

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    vin: Mapped[str] = mapped_column(String(17))
    action: Mapped[str] = mapped_column(String(16))  # unlock | lock | status
    reason: Mapped[str] = mapped_column(String(80))  # who asked and why: "sharing:reservation:42", "owner:app"
    transport: Mapped[str] = mapped_column(String(12))  # mqtt | teltonika
    device_identifier: Mapped[str] = mapped_column(String(64))  # VIN (embedded unit) or IMEI (tracker)
    status: Mapped[str] = mapped_column(String(12))  # pending | sent | acknowledged | refused | timed_out
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(Text)  # the car's own words: a refusal's reason, a tracker's reply
    late_result: Mapped[str | None] = mapped_column(String(12))  # ok | refused, arrived after the deadline
    late_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_vehicle_commands_status_expires", "status", "expires_at"),
                      Index("ix_vehicle_commands_device_status", "device_identifier", "status"))
