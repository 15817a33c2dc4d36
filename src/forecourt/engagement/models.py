"""The tables of coordinated engagement.

An occasion is a moment in one car's life with one owner (its warranty ends in 60 days, it turns four),
detected once per car, owner, kind and window. Offers are what partners contribute to kinds of
occasions. A message is what one driver receives about an occasion, holding the offers that were
eligible and allowed; its items name each offer's sender. Responses and contacts are the record of
what happened after: deliveries, opens, clicks, acceptances, and every marketing or legal contact,
which the contact-pressure rules count.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime


class Occasion(Base):
    """A reason to write to a car's owner, with the facts offers are matched on taken when it was found
    (market, model, age, mileage), so composing for a million drivers reads one table."""

    __tablename__ = "engagement_occasions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    window_starts_on: Mapped[date] = mapped_column(Date)
    window_ends_on: Mapped[date] = mapped_column(Date)
    market: Mapped[str] = mapped_column(String(2))
    model_code: Mapped[str] = mapped_column(String(32))
    car_age_years: Mapped[int] = mapped_column(Integer)
    odometer_km: Mapped[int | None] = mapped_column(Integer)
    legal: Mapped[bool] = mapped_column(Boolean, default=False)  # a recall: the law asks us to write
    arm: Mapped[str] = mapped_column(String(12), default="coordinated")  # coordinated | control
    detail: Mapped[str] = mapped_column(String(200), default="")  # e.g. the recall's code, the end date
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # The message that told the driver (occasions close together share one). No foreign key: the
    # message names its first occasion, and a cycle of keys is more trouble than it guards against.
    message_id: Mapped[int | None] = mapped_column(Integer, index=True)

    __table_args__ = (
        UniqueConstraint("vehicle_id", "customer_id", "kind", "window_starts_on",
                         name="uq_engagement_occasions_once"),
        Index("ix_engagement_occasions_kind_window", "kind", "window_starts_on"),
    )


class Offer(Base):
    """What one organization offers at some kinds of occasions, to the cars its rule matches."""

    __tablename__ = "engagement_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(String(32))  # the consent purpose the driver must grant
    occasion_kinds: Mapped[list] = mapped_column(JSON, default=list)
    # Eligibility: empty lists and NULL bounds match every car.
    models: Mapped[list] = mapped_column(JSON, default=list)
    markets: Mapped[list] = mapped_column(JSON, default=list)
    min_age_years: Mapped[int | None] = mapped_column(Integer)
    max_age_years: Mapped[int | None] = mapped_column(Integer)
    min_km: Mapped[int | None] = mapped_column(Integer)
    max_km: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    benefit: Mapped[str | None] = mapped_column(String(120))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    action: Mapped[str] = mapped_column(String(16))  # book_service | buy_extension | ask_quote
    action_code: Mapped[str | None] = mapped_column(String(32))  # the job or warranty product
    relevance: Mapped[int] = mapped_column(Integer, default=50)  # 0..100, higher comes first
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Message(Base):
    """One driver's message about one occasion (and any close occasions merged into it)."""

    __tablename__ = "engagement_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    occasion_id: Mapped[int] = mapped_column(ForeignKey("engagement_occasions.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    legal: Mapped[bool] = mapped_column(Boolean, default=False)
    # waiting (for its hold, quiet hours or the cap) | sent | held (cap reached all window) | empty
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    composed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channels: Mapped[str] = mapped_column(String(32), default="")  # the channels it went out on
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("occasion_id", "customer_id", name="uq_engagement_messages_one"),
                      Index("ix_engagement_messages_due", "status", "send_after"))


class MessageItem(Base):
    __tablename__ = "engagement_message_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    # looked up by message through the unique (message, offer) pair: no index of its own
    message_id: Mapped[int] = mapped_column(ForeignKey("engagement_messages.id", ondelete="CASCADE"))
    offer_id: Mapped[int] = mapped_column(ForeignKey("engagement_offers.id"), index=True)
    occasion_id: Mapped[int] = mapped_column(ForeignKey("engagement_occasions.id", ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("message_id", "offer_id", name="uq_engagement_message_items_once"),)


class Response(Base):
    """Something the driver's side did with a message: delivered, opened, clicked, accepted."""

    __tablename__ = "engagement_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("engagement_messages.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("engagement_message_items.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # delivered | opened | clicked | accepted
    channel: Mapped[str] = mapped_column(String(8), default="in_app")
    outcome: Mapped[str | None] = mapped_column(String(40))  # appointment:12 | warranty:3 | lead:9
    revenue: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Contact(Base):
    """One message that reached a driver on a channel: what the cap counts (legal ones too)."""

    __tablename__ = "engagement_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))  # in_app | email
    topic: Mapped[str] = mapped_column(String(32))  # engagement | nps | recall ...
    legal: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (Index("ix_engagement_contacts_who", "customer_id", "channel", "at"),)


class ContactChoice(Base):
    """The driver's own choice: whether offers may come by e-mail, and at most how many a month."""

    __tablename__ = "engagement_contact_choices"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    per_month: Mapped[int | None] = mapped_column(Integer)  # None: the market's cap
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class ComposeRun(Base):
    """One background composition over every occasion of a kind, with its progress."""

    __tablename__ = "engagement_compose_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued | running | done | failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
