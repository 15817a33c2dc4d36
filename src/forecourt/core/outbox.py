"""Messages to people, written in the same transaction as what caused them and sent afterwards.

A recall notice or a service proposal is a row here before it is an e-mail, so a crash between the
commit and the send loses nothing: the sender picks up unsent rows, and ``dedupe_key`` keeps a
retried cause from writing the same message twice. Addresses are resolved at send time by the
``customers`` domain, so an erased customer is never written to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from forecourt.core import events
from forecourt.core.clock import now
from forecourt.core.db import Base, UTCDateTime


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # A message to an organization instead (a tow company, a dealer): sent to its e-mail address.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # email | in_app | webhook
    topic: Mapped[str] = mapped_column(String(32))  # recall | service_proposal | ...
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))  # where the portal takes the reader
    # Why Forecourt may send it: a consent purpose, or "legal_obligation" for a safety recall.
    basis: Mapped[str] = mapped_column(String(32))
    # When ``basis`` is a consent purpose: the organization holding that grant. The e-mail then carries
    # a one-click link that withdraws exactly this grant (RFC 8058 List-Unsubscribe).
    consent_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_messages_unsent", "sent_at", "channel"),)


def enqueue(*, session: Session, customer_id: int | None, channel: str, topic: str, subject: str, body: str,
            basis: str, dedupe_key: str, link: str | None = None,
            organization_id: int | None = None, consent_organization_id: int | None = None) -> OutboxMessage:
    """Adds the message unless one with the same ``dedupe_key`` exists (then returns that one).

    ``organization_id`` instead of a customer addresses an organization (a tow company, a dealer).
    ``consent_organization_id``: whose grant of the ``basis`` purpose allows the message."""
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    message = OutboxMessage(customer_id=customer_id, channel=channel, topic=topic, subject=subject, body=body,
                            basis=basis, dedupe_key=dedupe_key, link=link, organization_id=organization_id,
                            consent_organization_id=consent_organization_id)
    session.add(message)
    session.flush()
    return message


@dataclass(frozen=True)
class SendNow:
    """Published after the commit of a message that must not wait for the next round of the sender
    (a dispatch notice: help is on its way). A failed attempt leaves the row for the sender to retry."""

    message_id: int


def send_now(session: Session, message: OutboxMessage) -> None:
    events.publish(session, SendNow(message_id=message.id))


def messages_of(*, session: Session, customer_id: int) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == customer_id)
                                .order_by(OutboxMessage.id)))


def erase_customer(*, session: Session, customer_id: int) -> int:
    """Messages only describe the person's dealings; they go with the person."""
    found = messages_of(session=session, customer_id=customer_id)
    for message in found:
        session.delete(message)
    session.flush()
    return len(found)
