"""Messages to people, written in the same transaction as what caused them and sent afterwards.

A recall notice or a service proposal is a row here before it is an e-mail, so a crash between the
commit and the send loses nothing: the sender picks up unsent rows, and ``dedupe_key`` keeps a
retried cause from writing the same message twice. Addresses are resolved at send time by the
``customers`` domain, so an erased customer is never written to.

Sending is at least once, with the state an operator needs: a send is marked in flight (and
committed) before the hand-over and finished after it, so a sender killed in between leaves a mark
that the next sender sees when the lease has passed. It sends again and counts the message's
``uncertain_sends``: the duplicates that at-least-once allows are bounded by the senders killed
mid-hand-over, and counted. A failure waits ``policy.delay(attempts)`` (doubling); after
``policy.max_attempts`` the message is dead (``dead_at``) until an operator replays it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, column, func, or_, select, table
from sqlalchemy.orm import Mapped, Session, mapped_column

from forecourt.core import events
from forecourt.core.clock import as_utc, now
from forecourt.core.db import Base, UTCDateTime
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.events import RetryPolicy
from forecourt.core import i18n
from forecourt.core.i18n import _


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
    # A message from several senders (the coordinated offer): every [organization_id, purpose] grant it
    # rests on, each unsubscribable on its own; None: only ``consent_organization_id`` and ``basis``.
    consent_grants: Mapped[list | None] = mapped_column(JSON)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: at once
    in_flight_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # handed over, outcome not recorded yet
    uncertain_sends: Mapped[int] = mapped_column(Integer, default=0)  # sent again after an unknown outcome
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # attempts spent: waits for an operator

    __table_args__ = (Index("ix_outbox_messages_unsent", "sent_at", "channel"),)


# The columns a message's language is read from. Named here rather than imported, so core does not
# depend on the domains that own these tables (customers, parties).
_CUSTOMERS = table("customers", column("id"), column("language"))
_ORGANIZATIONS = table("organizations", column("id"), column("market"))
_MARKETS = table("markets", column("code"), column("language"))


def language_of(session: Session, *, customer_id: int | None = None, organization_id: int | None = None) -> str:
    """The language a message to this customer (their own setting) or organization (its market's) is
    written in; English when neither names one we speak."""
    found = None
    if customer_id is not None:
        found = session.scalar(select(_CUSTOMERS.c.language).where(_CUSTOMERS.c.id == customer_id))
    elif organization_id is not None:
        found = session.scalar(select(_MARKETS.c.language).join(
            _ORGANIZATIONS, _ORGANIZATIONS.c.market == _MARKETS.c.code).where(_ORGANIZATIONS.c.id == organization_id))
    return i18n.supported(found) or i18n.DEFAULT_LOCALE


def languages_of(session: Session, *, customer_ids: list[int]) -> dict[int, str]:
    """Each customer's language, for a message written to many at once (a recall)."""
    found: dict[int, str] = {}
    for start in range(0, len(customer_ids), 5000):
        found.update((cid, i18n.supported(language) or i18n.DEFAULT_LOCALE) for cid, language in session.execute(
            select(_CUSTOMERS.c.id, _CUSTOMERS.c.language).where(
                _CUSTOMERS.c.id.in_(customer_ids[start:start + 5000]))))
    return found


@contextmanager
def written_for(session: Session, *, customer_id: int | None = None,
                organization_id: int | None = None) -> Iterator[str]:
    """Write a message inside this block in its reader's language, whoever's request or job caused it
    (a dealer's click writes a German customer's e-mail in German)."""
    with i18n.use_locale(language_of(session, customer_id=customer_id, organization_id=organization_id)) as language:
        yield language


def enqueue(*, session: Session, customer_id: int | None, channel: str, topic: str, subject: str, body: str,
            basis: str, dedupe_key: str, link: str | None = None,
            organization_id: int | None = None, consent_organization_id: int | None = None,
            consent_grants: list[tuple[int, str]] | None = None) -> OutboxMessage:
    """Adds the message unless one with the same ``dedupe_key`` exists (then returns that one).

    ``organization_id`` instead of a customer addresses an organization (a tow company, a dealer).
    ``consent_organization_id``: whose grant of the ``basis`` purpose allows the message;
    ``consent_grants``: every (organization, purpose) grant a message from several senders rests on."""
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    message = OutboxMessage(customer_id=customer_id, channel=channel, topic=topic, subject=subject, body=body,
                            basis=basis, dedupe_key=dedupe_key, link=link, organization_id=organization_id,
                            consent_organization_id=consent_organization_id,
                            consent_grants=[[o, p] for o, p in consent_grants] if consent_grants else None)
    session.add(message)
    session.flush()
    return message


def grants_resting_on(message: OutboxMessage) -> list[tuple[int, str]]:
    """The (organization, purpose) grants a message rests on: what its unsubscribe links withdraw."""
    if message.customer_id is None:
        return []
    if message.consent_grants:
        return list(dict.fromkeys((int(o), str(p)) for o, p in message.consent_grants))
    if message.consent_organization_id is not None:
        return [(message.consent_organization_id, message.basis)]
    return []


@dataclass(frozen=True)
class SendNow:
    """Published after the commit of a message that must not wait for the next round of the sender
    (a dispatch notice: help is on its way). A failed attempt leaves the row for the sender to retry."""

    message_id: int


def send_now(session: Session, message: OutboxMessage) -> None:
    events.publish(session, SendNow(message_id=message.id))


# --- the sender's bookkeeping (the transport is the customers domain's notify) ------------------------

def due_ids(*, session: Session, channels: tuple[str, ...] = ("email",), lease_seconds: float = 120.0,
            limit: int = 100) -> list[int]:
    """Unsent, not dead, past their back-off, and not in flight (or in flight longer than the lease:
    that sender died)."""
    moment = now()
    return list(session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.dead_at.is_(None), OutboxMessage.channel.in_(channels),
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= moment),
        or_(OutboxMessage.in_flight_since.is_(None),
            OutboxMessage.in_flight_since <= moment - timedelta(seconds=lease_seconds)))
        .order_by(OutboxMessage.attempts, OutboxMessage.id).limit(limit)))


def waiting(*, session: Session, channels: tuple[str, ...] = ("email",)) -> dict[str, int]:
    """What is still to leave: ``due`` now, ``later`` (waiting out a retry's back-off), ``dead`` (attempts
    spent, for an operator to try again)."""
    moment = now()
    unsent = (OutboxMessage.sent_at.is_(None), OutboxMessage.channel.in_(channels))
    count = select(func.count(OutboxMessage.id))
    later = session.scalar(count.where(*unsent, OutboxMessage.dead_at.is_(None),
                                       OutboxMessage.next_attempt_at > moment)) or 0
    alive = session.scalar(count.where(*unsent, OutboxMessage.dead_at.is_(None))) or 0
    dead = session.scalar(count.where(*unsent, OutboxMessage.dead_at.is_not(None))) or 0
    return {"due": alive - later, "later": later, "dead": dead}


def take(*, session: Session, message_id: int, lease_seconds: float = 120.0) -> OutboxMessage | None:
    """Locks a due message for sending (another sender's is skipped), or None."""
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.id == message_id)
                              .with_for_update(skip_locked=True)).first()
    if message is None or message.sent_at is not None or message.dead_at is not None:
        return None
    if message.in_flight_since is not None and as_utc(message.in_flight_since) > now() - timedelta(seconds=lease_seconds):
        return None  # another sender has it in hand
    return message


def mark_in_flight(message: OutboxMessage) -> None:
    """Committed before the hand-over. A mark left by a sender that died means the message may have
    gone out: sending it again is counted."""
    if message.in_flight_since is not None:
        message.uncertain_sends = (message.uncertain_sends or 0) + 1
    message.in_flight_since = now()
    message.attempts = (message.attempts or 0) + 1


def mark_sent(message: OutboxMessage, *, note: str | None = None) -> None:
    message.sent_at, message.in_flight_since, message.last_error = now(), None, note


def mark_failed(message: OutboxMessage, error: str, policy: RetryPolicy) -> str:
    """``failed`` (tried again after the back-off) or ``dead``."""
    message.in_flight_since, message.last_error = None, error[:2000]
    if message.attempts >= policy.max_attempts:
        message.dead_at = now()
        return "dead"
    message.next_attempt_at = now() + policy.delay(message.attempts)
    return "failed"


def replay(*, session: Session, message_id: int) -> OutboxMessage:
    """A dead message gets fresh attempts (after its cause — an address, the mail server — was fixed)."""
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound("Message not found")
    if message.dead_at is None:
        raise Invalid(_("Only a message that stopped being tried can be replayed."), field="message")
    message.dead_at, message.attempts, message.next_attempt_at = None, 0, now()
    session.flush()
    return message


def dead_letters(*, session: Session, limit: int = 200) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.dead_at.is_not(None))
                                .order_by(OutboxMessage.dead_at.desc()).limit(limit)))


def summary(*, session: Session) -> dict:
    """Waiting e-mails, the oldest one's age, the dead, and the sends that may have been duplicates."""
    unsent = (OutboxMessage.sent_at.is_(None), OutboxMessage.dead_at.is_(None), OutboxMessage.channel != "in_app")
    pending, oldest = session.execute(select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at))
                                      .where(*unsent)).one()
    dead = session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.dead_at.is_not(None))) or 0
    uncertain = session.scalar(select(func.coalesce(func.sum(OutboxMessage.uncertain_sends), 0))) or 0
    age = max(0.0, (now() - as_utc(oldest)).total_seconds()) if oldest is not None else 0.0
    return {"pending": pending or 0, "dead": dead, "uncertain_sends": int(uncertain), "oldest_seconds": age}


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
