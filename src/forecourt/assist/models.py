"""On Call tables: cases and their timeline, who was sent, and the subscriptions that include the service.

A case is opened by the first alert of an incident and joined by the ones that follow; every alert,
action and dispatch is a ``assist_case_events`` row, so the timeline and the SLA timers are facts,
not recollections. Position and recent track are copied onto the case: SOS and crash positions are
kept with the case whatever the owner's location consent.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime
from forecourt.core.money import currency_column

PRIORITY = {"crash": 1, "sos": 2, "breakdown": 3}


class Case(Base):
    __tablename__ = "assist_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # read out on the phone: "OC-7K3M9"
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)  # owner at the time
    kind: Mapped[str] = mapped_column(String(12))  # crash | sos | breakdown
    priority: Mapped[int] = mapped_column(Integer)  # 1 crash, 2 SOS, 3 breakdown
    # open | acknowledged | dispatched | resolved | closed
    status: Mapped[str] = mapped_column(String(12), default="open")
    resolution: Mapped[str | None] = mapped_column(String(32))  # help_arrived | false_alarm | test_call | ...
    source: Mapped[str] = mapped_column(String(12))  # mqtt | http | osmand | teltonika | ecall
    activation: Mapped[str | None] = mapped_column(String(10))  # automatic | manual (eCall)
    test_call: Mapped[bool] = mapped_column(Boolean, default=False)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    position_trusted: Mapped[bool | None] = mapped_column(Boolean)
    heading: Mapped[float | None] = mapped_column(Float)
    passengers: Mapped[int | None] = mapped_column(Integer)
    # [{"at": iso, "lat": .., "lon": ..}] newest first: the recent track rescuers follow
    track: Mapped[list] = mapped_column(JSON, default=list)
    # What was wrong with the alerts ("timestamp unreadable, used the time received"): recorded, never fatal.
    problems: Mapped[list] = mapped_column(JSON, default=list)
    # What the car said about itself in its last eCall: the minimum set of data as decoded (VIN,
    # vehicle type, propulsion, additional data) and the bytes as received, readable or not.
    vehicle_data: Mapped[dict | None] = mapped_column(JSON)
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_alert_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_assist_cases_status_priority", "status", "priority", "opened_at"),
                      Index("ix_assist_cases_vehicle_status", "vehicle_id", "status"))


class CaseEvent(Base):
    """One line of a case's timeline: an alert, an acknowledgement, a call, a dispatch, a note, a state."""

    __tablename__ = "assist_case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("assist_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # alert | acknowledged | dispatched | note | resolved | closed | ...
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class Dispatch(Base):
    """Help sent to a case: a tow truck, a dealer's mobile service, an emergency service."""

    __tablename__ = "assist_dispatches"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("assist_cases.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(12))  # tow | dealer | emergency
    distance_km: Mapped[float] = mapped_column(Float)
    eta_minutes: Mapped[int] = mapped_column(Integer)
    # A tow takes the car to a dealer: that dealer sees it coming in its workspace.
    destination_dealer_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    dispatched_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="on_the_way")  # on_the_way | arrived | declined
    # The provider's own word (through the API or a signed callback): accepted | declined, or not yet.
    answer: Mapped[str | None] = mapped_column(String(12))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_note: Mapped[str | None] = mapped_column(String(500))


class ProviderEndpoint(Base):
    """Where a tow or emergency provider takes dispatch notices by webhook, and the secret they are signed with.

    The secret is kept as given out, because signing needs it; it is shown to the administrator once."""

    __tablename__ = "assist_provider_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class SubscriptionTerms(Base):
    """How many years of On Call come with a new car of a model in a market."""

    __tablename__ = "assist_subscription_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle_models.id"))  # NULL: every model
    market: Mapped[str] = mapped_column(String(2), default="DE")
    included_years: Mapped[int] = mapped_column(Integer)
    renewal_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # per year, in ``currency``
    currency: Mapped[str] = currency_column()


class Subscription(Base):
    """On Call for one car (or, for an older car, through the owner's phone app).

    A bought period exists from the moment the owner asks for it, but covers the car only once its
    payment is received (``assist.subscriptions.latest`` reads the payments ledger).
    """

    __tablename__ = "assist_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    plan: Mapped[str] = mapped_column(String(12))  # included | renewal | phone_app
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    currency: Mapped[str] = currency_column()
    # The payment that buys a renewal or the phone app plan; until it is received the row does not count.
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), unique=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class EmergencyContact(Base):
    """Whom the call centre calls when the driver cannot answer; the owner keeps this list."""

    __tablename__ = "assist_emergency_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40))
    relation: Mapped[str] = mapped_column(String(40), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
