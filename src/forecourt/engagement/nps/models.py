"""NPS tables: one survey per touchpoint, its answer, the answer's topics and a detractor's follow-up.

A survey outlives its driver's erasure with the score only (``customer_id`` NULL, the words gone), so a
dealer's NPS does not change when one driver leaves; everything that says who or why is removed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime


class Survey(Base):
    """One invitation to one driver after one touchpoint (a visit, a delivery, an On Call case)."""

    __tablename__ = "nps_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    touchpoint: Mapped[str] = mapped_column(String(24))  # a ``touchpoints.TOUCHPOINTS`` code
    # What the survey is about, e.g. "service_record:42": a redelivered event finds it and adds nothing.
    subject_key: Mapped[str] = mapped_column(String(80), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)  # NULL once erased
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    # Who answers for the experience: the dealer, or the carmaker for its call centre.
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    responsible: Mapped[str] = mapped_column(String(12))  # dealer | call_centre
    language: Mapped[str] = mapped_column(String(8))  # the driver's, when invited
    # SHA-256 of the link's token: the link is the only way in, and a leaked table opens nothing.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))

    __table_args__ = (Index("ix_nps_surveys_org_created", "organization_id", "created_at"),)


class Response(Base):
    """The driver's answer: 0–10 and, in their words, why."""

    __tablename__ = "nps_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("nps_surveys.id"), unique=True)
    score: Mapped[int] = mapped_column(Integer)
    why: Mapped[str | None] = mapped_column(Text)  # NULL once the driver is erased
    language: Mapped[str] = mapped_column(String(8))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Topic(Base):
    """A topic an answer speaks of: found by keywords in its language, or set by the dealer."""

    __tablename__ = "nps_topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("nps_responses.id"), index=True)
    topic: Mapped[str] = mapped_column(String(24))  # a ``topics.TOPICS`` code
    source: Mapped[str] = mapped_column(String(8))  # keyword | staff
    set_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class FollowUp(Base):
    """A detractor's answer as work: the responsible organization calls back within the target."""

    __tablename__ = "nps_follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("nps_surveys.id"), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))

    __table_args__ = (Index("ix_nps_follow_ups_open", "closed_at", "due_at"),)
