"""The driver: profile and the preferences that follow them into loaners and shared cars."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.core import names
from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime


class Customer(Base):
    """A driver. ``first_name`` holds the given name(s) and ``last_name`` the family name, whatever order
    the person's market writes them in (``core.names``); ``phone`` is E.164."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100), index=True)
    # Unique among the living; erased customers have no e-mail at all.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    street: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    birth_date: Mapped[date | None] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(8), default="en")
    # The market that serves them (its currency, phone region, address format); their own clock,
    # else the market's.
    market: Mapped[str | None] = mapped_column(String(2))  # a ``Market`` code
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def full_name(self) -> str:
        if self.erased_at:
            return "Erased customer"
        return names.display_name(self.first_name, self.last_name)


class Preferences(Base):
    """Comfort settings applied to a loaner or a shared car so it feels like the driver's own."""

    __tablename__ = "customer_preferences"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    radio_presets: Mapped[list] = mapped_column(JSON, default=list)  # ["SWR3 99.9", ...]
    navigation_favourites: Mapped[list] = mapped_column(JSON, default=list)  # [{"label", "address", "lat", "lon"}]
    seat_position: Mapped[dict] = mapped_column(JSON, default=dict)  # {"height": 4, "distance": 7, "recline": 3}
    preferred_contact: Mapped[str] = mapped_column(String(16), default="email")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class EmailLink(Base):
    """A link sent to a customer's e-mail address; following it proves the reader controls that address.

    An anonymous form cannot prove who typed an e-mail address, so what it asks for waits for the
    link: ``claim`` lets the person set a password and take the record over, ``contact`` gives the
    dealer ``sales_contact`` (double opt-in). Only the token's SHA-256 digest is stored; a link works
    once and expires.
    """

    __tablename__ = "customer_email_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # claim | contact
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))  # contact: the dealer
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
