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
