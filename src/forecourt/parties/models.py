"""Organizations (the carmaker, dealers, partners) and the people who log in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime


class Market(Base):
    """A country the network sells and serves in: its currency, language, clock, phones, names and addresses.

    Reference data (``parties.markets.ensure_markets``); organizations and customers belong to one."""

    __tablename__ = "markets"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)  # ISO 3166 alpha-2: DE, KR
    name: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217: EUR, KRW
    language: Mapped[str] = mapped_column(String(8))  # the language pages fall back to: de, ko
    time_zone: Mapped[str] = mapped_column(String(64))  # IANA: Europe/Berlin, Asia/Seoul
    phone_region: Mapped[str] = mapped_column(String(2))  # numbers typed without +CC are read here
    name_order: Mapped[str] = mapped_column(String(16))  # family_first | given_first
    # One template per line, of {street}, {postcode} and {city} (``core.addresses``).
    address_format: Mapped[list] = mapped_column(JSON, default=list)
    postcode_pattern: Mapped[str] = mapped_column(String(64))  # a regular expression the whole postcode matches
    postcode_example: Mapped[str] = mapped_column(String(16))
    # Marketing messages a driver of this market receives at most per channel and month (legal ones
    # are not held back by it, but count toward it).
    marketing_per_month: Mapped[int] = mapped_column(Integer, default=2, server_default="2")


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # carmaker | dealer | partner
    partner_kind: Mapped[str | None] = mapped_column(String(16))  # finance | insurance | roadside | emergency
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    street: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="DE")
    market: Mapped[str] = mapped_column(String(2), default="DE", index=True)  # a ``Market`` code
    # Opening hours, slots and "today" are read on this clock; set from the market when not given.
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    # {"mon": [["08:00", "18:00"]], ..., "sun": []}
    opening_hours: Mapped[dict] = mapped_column(JSON, default=dict)
    service_bays: Mapped[int] = mapped_column(Integer, default=0)
    # Cases a roadside or emergency provider (or a dealer) takes at once; NULL: no limit (assist.availability).
    dispatch_capacity: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    @property
    def position(self) -> tuple[float, float] | None:
        """Where the organization is, or None: half a coordinate (a row written before both were
        required together) places it nowhere, rather than breaking every distance measured to it."""
        if self.latitude is None or self.longitude is None:
            return None
        return self.latitude, self.longitude


class User(Base):
    """Anyone who logs in: staff of an organization, or a customer (``customer_id`` set)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), unique=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The language a staff member reads the workspace in; None: their browser's (customers: customers.language).
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization | None] = relationship(lazy="joined")


class AuthToken(Base):
    """A browser session or an API bearer token; only the digest is stored."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # session | api
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    """Failed logins, counted per client address to slow password guessing (``authenticate``)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"), Index("ix_login_attempts_address_at", "address", "at"))


class AuditEntry(Base):
    """What administrators changed, by whom and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(120))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
