"""Messages leaving Forecourt: the sender that drains the outbox (e-mail, webhooks), and the portal inbox.

The sender runs after the transactions that wrote the messages (``forecourt outbox send``, or at
once for a message published with ``outbox.send_now``). ``send_message`` sends one message in its
own transaction (a job can call it with an id), so one bad address or a mail server hiccup never
holds up the others: the row stays unsent with ``attempts`` and ``last_error`` and is tried again on
the next run. The address is looked up at send time: an erased customer has none, so their message
is marked done and never sent. Delivery is at least once: a crash between the hand-over and the
commit sends that one message again.

E-mails are composed and carried by ``customers.mail`` (Date, Message-ID, one-click unsubscribe;
STARTTLS or TLS, login); webhooks (dispatch notices) by ``assist.notices``. In-app messages need no
transport: they are in the owner's inbox (``/me/messages``) from the moment they are written.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from forecourt.assist import notices
from forecourt.core import events
from forecourt.core.clock import now
from forecourt.core.config import Settings
from forecourt.core.db import transaction
from forecourt.core.errors import NotFound
from forecourt.core.outbox import OutboxMessage, SendNow
from forecourt.customers.mail import Mailer, compose
from forecourt.customers.models import Customer
from forecourt.parties.models import Organization

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10  # then the row waits for a person to look at ``last_error``
ERASED = "Not sent: the customer was erased."
NO_ADDRESS = "Not sent: the organization has no e-mail address."
TRANSPORTED = ("email", "webhook")  # in-app messages are read where they are


def pending_ids(*, session: Session, limit: int = 100) -> list[int]:
    return list(session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.channel.in_(TRANSPORTED),
        OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMessage.attempts, OutboxMessage.id).limit(limit)))


def _address(session: Session, message: OutboxMessage) -> str | None:
    """Where the e-mail goes, or None after marking the row done with the reason it is not sent."""
    if message.organization_id is not None:  # a tow company or a dealer: its own address
        organization = session.get(Organization, message.organization_id)
        if organization is None or not organization.email:
            message.sent_at, message.last_error = now(), NO_ADDRESS
            return None
        return organization.email
    customer = session.get(Customer, message.customer_id) if message.customer_id is not None else None
    if customer is None or customer.erased_at is not None or not customer.email:
        message.sent_at, message.last_error = now(), ERASED
        return None
    return customer.email


def _email(session: Session, message: OutboxMessage, mailer: Mailer, settings: Settings) -> str:
    to = _address(session, message)
    if to is None:
        return "skipped"
    message.attempts += 1
    try:
        mailer.send(compose(message=message, to=to, settings=settings))
    except (smtplib.SMTPException, OSError) as error:
        message.last_error = f"{type(error).__name__}: {error}"[:2000]
        log.warning("outbox message %s not sent (attempt %s): %s", message.id, message.attempts, error)
        return "failed"
    message.sent_at, message.last_error = now(), None
    return "sent"


def _send_locked(session: Session, message_id: int, mailer: Mailer, settings: Settings) -> str:
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.id == message_id)
                              .with_for_update(skip_locked=True)).first()
    if message is None or message.sent_at is not None or message.channel not in TRANSPORTED:
        return "gone"  # another sender took it, or the customer was erased meanwhile
    if message.channel == "webhook":
        return notices.deliver(session=session, message=message, settings=settings)
    return _email(session, message, mailer, settings)


def send_message(*, session_factory: sessionmaker, settings: Settings, message_id: int,
                 mailer: Mailer | None = None) -> str:
    """Sends one outbox message in its own transaction: "sent", "failed" (it stays, to retry),
    "skipped" (never to be sent: erased customer, no address) or "gone" (sent already or taken by
    another sender). ``mailer`` shares one SMTP connection across a batch."""
    own = mailer is None
    mailer = mailer or Mailer(settings)
    try:
        with transaction(session_factory) as session:
            return _send_locked(session, message_id, mailer, settings)
    finally:
        if own:
            mailer.close()


def send_pending(*, session_factory: sessionmaker, settings: Settings, limit: int = 100) -> dict:
    """Sends up to ``limit`` unsent messages; returns how many were sent, failed (to retry) and skipped."""
    with transaction(session_factory) as session:
        ids = pending_ids(session=session, limit=limit)
    result = {"sent": 0, "failed": 0, "skipped": 0, "gone": 0}
    mailer = Mailer(settings)
    try:
        for message_id in ids:
            try:
                result[send_message(session_factory=session_factory, settings=settings, message_id=message_id,
                                    mailer=mailer)] += 1
            except Exception:  # a broken row must not stop the batch; it stays unsent
                log.exception("outbox message %s could not be processed", message_id)
                result["failed"] += 1
    finally:
        mailer.close()
    return result


def subscribe_handlers(bus, session_factory: Callable[[], Session], settings: Settings) -> None:
    """Messages published with ``outbox.send_now`` leave right after their transaction commits; a
    failure leaves them for the next round of the sender."""
    source, new = events.session_source(bus, "customers.notify", session_factory)
    source.settings = settings  # like the factory, swapped by a later call (tests build many apps)
    if not new:
        return

    def send_now(event: SendNow) -> None:
        send_message(session_factory=source.factory, settings=source.settings, message_id=event.message_id)

    send_now.__name__ = "customers.send_now"
    bus.subscribe(SendNow, send_now)


# --- the owner's inbox ---------------------------------------------------------------------------

def inbox(*, session: Session, customer_id: int, limit: int = 200) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.customer_id == customer_id, OutboxMessage.channel == "in_app")
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)))


def unread_count(*, session: Session, customer_id: int) -> int:
    return session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.customer_id == customer_id, OutboxMessage.channel == "in_app",
        OutboxMessage.read_at.is_(None))) or 0


def mark_read(*, session: Session, customer_id: int, message_id: int) -> OutboxMessage:
    """Only the owner's own in-app messages; anybody else's does not exist for them."""
    message = session.get(OutboxMessage, message_id)
    if message is None or message.customer_id != customer_id or message.channel != "in_app":
        raise NotFound("Message not found")
    if message.read_at is None:
        message.read_at = now()
        session.flush()
    return message
