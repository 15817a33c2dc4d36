"""Messages leaving Forecourt: the sender that drains the outbox (e-mail, webhooks), and the portal inbox.

The sender runs after the transactions that wrote the messages (``forecourt worker``, ``forecourt
outbox send``, or at once for a message published with ``outbox.send_now``). ``send_message`` sends
one message (a job can call it with an id), so one bad address or a mail server hiccup never holds
up the others: the row stays unsent with ``attempts`` and ``last_error`` and is tried again after an
exponential back-off, until it is dead (``core.outbox``). The address is looked up at send time: an
erased customer has none, so their message is marked done and never sent. Delivery is at least
once: a sender killed between the SMTP hand-over and its record sends that one message again, and
the row counts it (``uncertain_sends``).

E-mails are composed and carried by ``messaging.mail`` (Date, Message-ID, one-click unsubscribe;
STARTTLS or TLS, login); webhooks (dispatch notices) by ``assist.notices``. In-app messages need no
transport: they are in the owner's inbox (``/me/messages``) from the moment they are written.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from forecourt.assist import notices
from forecourt.core import events, outbox
from forecourt.core.clock import now
from forecourt.core.config import Settings
from forecourt.core.db import transaction
from forecourt.core.errors import NotFound
from forecourt.core.events import RetryPolicy
from forecourt.core.outbox import OutboxMessage, SendNow
from forecourt.customers import service as customers_service
from forecourt.messaging.mail import Mailer, compose
from forecourt.parties import service as parties_service

log = logging.getLogger(__name__)

ERASED = "Not sent: the customer was erased."
NO_ADDRESS = "Not sent: the organization has no e-mail address."
TRANSPORTED = ("email", "webhook")  # in-app messages are read where they are


def policy_of(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.outbox_max_attempts, first_delay=settings.outbox_retry_seconds)


def pending_ids(*, session: Session, settings: Settings | None = None, limit: int = 100) -> list[int]:
    lease = settings.outbox_lease_seconds if settings is not None else 120.0
    return outbox.due_ids(session=session, channels=TRANSPORTED, lease_seconds=lease, limit=limit)


def _address(session: Session, message: OutboxMessage) -> tuple[str | None, str]:
    """The address at send time, or why there is none."""
    if message.organization_id is not None:  # a tow company or a dealer: its own address
        organization = parties_service.organization_or_none(session=session, organization_id=message.organization_id)
        return (organization.email if organization is not None else None) or None, NO_ADDRESS
    customer = (customers_service.get_or_none(session=session, customer_id=message.customer_id)
                if message.customer_id is not None else None)
    if customer is None or not customer.email:
        return None, ERASED
    return customer.email, ""


def _webhook(session: Session, message: OutboxMessage, settings: Settings) -> str:
    """Dispatch notices: ``assist.notices`` posts them and hands them to e-mail after the last attempt;
    a failed post waits a short, doubling pause (help is on its way: seconds, not minutes)."""
    result = notices.deliver(session=session, message=message, settings=settings)
    if result == "failed" and message.sent_at is None:
        message.next_attempt_at = now() + timedelta(seconds=min(60, 2 ** message.attempts))
    return result


def _claim(session: Session, message_id: int, settings: Settings) -> EmailMessage | str:
    """The e-mail to hand over, marked in flight; or what became of the message (``gone``: another
    sender has it or it was sent; ``skipped``: nobody to write to; a webhook's outcome)."""
    message = outbox.take(session=session, message_id=message_id, lease_seconds=settings.outbox_lease_seconds)
    if message is None or message.channel not in TRANSPORTED:
        return "gone"
    if message.channel == "webhook":
        return _webhook(session, message, settings)
    to, why_not = _address(session, message)
    if to is None:
        outbox.mark_sent(message, note=why_not)
        return "skipped"
    outbox.mark_in_flight(message)
    with outbox.written_for(session, customer_id=message.customer_id, organization_id=message.organization_id):
        return compose(message=message, to=to, settings=settings)


def _finish(session: Session, message_id: int, error: Exception | None, settings: Settings) -> str:
    message = session.get(OutboxMessage, message_id)
    if message is None:
        return "gone"  # the customer was erased while it was in flight
    if error is None:
        outbox.mark_sent(message)
        return "sent"
    log.warning("outbox message %s not sent (attempt %s): %s", message.id, message.attempts, error)
    return outbox.mark_failed(message, f"{type(error).__name__}: {error}", policy_of(settings))


def _send(session_factory: sessionmaker, settings: Settings, message_id: int,
          mailer: Mailer) -> tuple[str, Exception | None]:
    """Two short transactions around the hand-over (in flight, then sent or failed), so no lock is
    held while the mail server answers and a sender killed in between is noticed by the next one."""
    with transaction(session_factory, write=True) as session:
        claimed = _claim(session, message_id, settings)
    if isinstance(claimed, str):
        return claimed, None
    error = None
    try:
        mailer.send(claimed)
    except (smtplib.SMTPException, OSError) as failure:
        error = failure
    with transaction(session_factory, write=True) as session:
        return _finish(session, message_id, error, settings), error


def send_message(*, session_factory: sessionmaker, settings: Settings, message_id: int,
                 mailer: Mailer | None = None) -> str:
    """Sends one outbox message: "sent", "failed" (it stays, to retry after its back-off), "dead"
    (attempts spent: an operator replays it), "skipped" (never to be sent: erased customer, no
    address) or "gone" (sent already or taken by another sender). ``mailer`` shares one SMTP
    connection across a batch."""
    own = mailer is None
    mailer = mailer or Mailer(settings)
    try:
        return _send(session_factory, settings, message_id, mailer)[0]
    finally:
        if own:
            mailer.close()


def send_pending(*, session_factory: sessionmaker, settings: Settings, limit: int = 100) -> dict:
    """Sends up to ``limit`` due messages; returns how many were sent, failed (to retry), dead, skipped."""
    with transaction(session_factory) as session:
        ids = pending_ids(session=session, settings=settings, limit=limit)
    result = {"sent": 0, "failed": 0, "dead": 0, "skipped": 0, "gone": 0}
    mailer = Mailer(settings)
    try:
        for message_id in ids:
            try:
                outcome, error = _send(session_factory, settings, message_id, mailer)
                result[outcome] += 1
                if isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException):
                    break  # the mail server cannot be reached: the rest wait for the next round, attempts intact
            except Exception:  # a broken row must not stop the batch; its lease runs out and it is tried again
                log.exception("outbox message %s could not be processed", message_id)
                result["failed"] += 1
    finally:
        mailer.close()
    return result


def subscribe_handlers(bus, session_factory: Callable[[], Session], settings: Settings) -> None:
    """Messages published with ``outbox.send_now`` leave right after their transaction commits; a
    failure leaves them for the next round of the sender."""
    source, new = events.session_source(bus, "messaging.notify", session_factory)
    source.settings = settings  # like the factory, swapped by a later call (tests build many apps)
    if not new:
        return

    def send_now(event: SendNow) -> None:
        send_message(session_factory=source.factory, settings=source.settings, message_id=event.message_id)

    send_now.__name__ = "messaging.send_now"
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
