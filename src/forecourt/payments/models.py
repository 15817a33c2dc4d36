"""Payment tables: what was asked for (``payments``) and every movement of money on it (``payment_entries``).

A payment belongs to one subject (an order, an On Call subscription, later a car-sharing deposit) and
one payee organization. Its money is the sum of its entries; nothing stores a "paid" flag that a
caller could set. Entries are only added: a mistaken receipt is undone by a reversal entry, money
paid back by a refund entry, so the ledger shows what happened and who recorded it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime


class Payment(Base):
    """A request for money from a customer to an organization, collected by one provider."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Ours, short enough to quote on a bank transfer or read out at a till.
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    provider: Mapped[str] = mapped_column(String(16))  # manual | stripe
    # The provider's own id (a Stripe PaymentIntent "pi_..."); none for the manual provider.
    provider_reference: Mapped[str | None] = mapped_column(String(255), unique=True)
    # What the money is for: order_deposit | order_balance | on_call_renewal | on_call_phone_app | ...
    purpose: Mapped[str] = mapped_column(String(24))
    subject_kind: Mapped[str] = mapped_column(String(16))  # order | subscription | ...
    subject_id: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    payee_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    amount: Mapped[float] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # automatic: taken when the customer pays; manual: authorised first, captured or released later.
    capture: Mapped[str] = mapped_column(String(9), default="automatic")
    # open | authorised | paid | cancelled | reversed (the money itself is in the entries)
    status: Mapped[str] = mapped_column(String(12), default="open")
    # The card provider's secret for the customer's browser to confirm the payment (never a card number).
    client_secret: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (Index("ix_payments_subject", "subject_kind", "subject_id"),)


class PaymentEntry(Base):
    """One movement of money on a payment; added, never changed."""

    __tablename__ = "payment_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    # receipt | reversal | refund | authorisation | release
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[float] = mapped_column(Numeric(12, 2))
    provider: Mapped[str] = mapped_column(String(16))
    # What makes the entry happen once: the provider's event object (refund "re_...", "pi_...:received")
    # or the cashier's form key. A second delivery of the same fact finds this row instead of adding one.
    provider_reference: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(16), default="")  # cash | card_terminal | transfer | card
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reverses_entry_id: Mapped[int | None] = mapped_column(ForeignKey("payment_entries.id"), unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (UniqueConstraint("provider", "provider_reference"),)
