"""Purposes, versioned notices, grants, the append-only consent ledger and the access log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime


class Purpose(Base):
    __tablename__ = "purposes"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    # consent | vital_interest | legal_obligation | contract
    legal_basis: Mapped[str] = mapped_column(String(24))
    # The kinds of data a principal may see when reading for this purpose.
    data_categories: Mapped[list] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def needs_consent(self) -> bool:
        return self.legal_basis == "consent"


class RolePurpose(Base):
    """A purpose one role may state when it reads a customer's data: the purposes of its work.

    Partners' analysts are told apart by their organization's kind (an insurer, a roadside service);
    ``partner_kind`` is NULL for every other role. Reference data, written by ``ensure_catalogue``."""

    __tablename__ = "role_purposes"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    partner_kind: Mapped[str | None] = mapped_column(String(16))
    purpose_code: Mapped[str] = mapped_column(ForeignKey("purposes.code"))
    # Why this role needs the purpose, in words the customer's privacy page shows.
    explanation: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_role_purposes_role_purpose", "role", "purpose_code"),)


class Notice(Base):
    """A published privacy notice. Consent given under one version covers only the purposes it listed."""

    __tablename__ = "notices"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    purposes: Mapped[list] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class NoticeText(Base):
    """One notice version as written in one language: the words a customer reading in that language
    agreed to. Every version is published in each language Forecourt speaks, and a published text is
    never rewritten (a better translation is a new version), so a receipt's version and language name
    the exact words read."""

    __tablename__ = "notice_texts"

    notice_version: Mapped[int] = mapped_column(ForeignKey("notices.version", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)


class Grant(Base):
    """Current state: organization may use the customer's data for a purpose. History lives in the ledger."""

    __tablename__ = "consent_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    purpose_code: Mapped[str] = mapped_column(ForeignKey("purposes.code"))
    notice_version: Mapped[int] = mapped_column(ForeignKey("notices.version"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("customer_id", "organization_id", "purpose_code"),
        Index("ix_consent_grants_org_purpose_active", "organization_id", "purpose_code", "withdrawn_at"),
    )


class ConsentReceipt(Base):
    """One row per consent event, never updated: the fields of an ISO/IEC TS 27560 / Kantara receipt."""

    __tablename__ = "consent_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[str] = mapped_column(String(36), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)  # PII principal
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))  # controller
    purpose_code: Mapped[str] = mapped_column(ForeignKey("purposes.code"))
    legal_basis: Mapped[str] = mapped_column(String(24))
    notice_version: Mapped[int] = mapped_column(ForeignKey("notices.version"))
    state: Mapped[str] = mapped_column(String(12))  # granted | withdrawn | expired
    method: Mapped[str] = mapped_column(String(24))  # web-portal | api | in-dealership | import
    jurisdiction: Mapped[str] = mapped_column(String(8), default="EU")
    # The language of the notice text the customer read (en, de, ko); empty on receipts from before
    # notices were published per language, which were all read in English.
    language: Mapped[str | None] = mapped_column(String(8))
    recorded_by_user_id: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class AccessLogEntry(Base):
    """Every allowed read of a customer's data by someone other than the customer."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(32))
    purpose_code: Mapped[str] = mapped_column(String(40))
    legal_basis: Mapped[str] = mapped_column(String(24))
    what: Mapped[str] = mapped_column(String(120))
    reference: Mapped[str | None] = mapped_column(String(120))  # e.g. "case:42" for vital interest
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (Index("ix_access_log_customer_at", "customer_id", "at"),)


class DataRequest(Base):
    """A data-subject request (export or erasure) and what was done about it."""

    __tablename__ = "data_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # export | erasure
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    is_repeat: Mapped[bool] = mapped_column(Boolean, default=False)
