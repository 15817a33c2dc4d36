"""Messages reaching owners: the e-mail sender that drains the outbox, and the portal inbox.

The sender runs after the transactions that wrote the messages (``forecourt worker``, or
``forecourt outbox send``). Each message is sent on its own, so one bad address or a mail server
hiccup never holds up the others: the row stays unsent with ``attempts`` and ``last_error`` and is
tried again after an exponential back-off, until it is dead (``core.outbox``). The address is looked
up at send time: an erased customer has none, so their message is marked done and never sent.
Delivery is at least once: a sender killed between the SMTP hand-over and its record sends that
one message again, and the row counts it (``uncertain_sends``).

In-app messages need no transport: they are in the owner's inbox (``/me/messages``) from the moment
they are written.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from forecourt.core import outbox
from forecourt.core.clock import now
from forecourt.core.config import Settings
from forecourt.core.db import transaction
from forecourt.core.errors import NotFound
from forecourt.core.events import RetryPolicy
from forecourt.core.outbox import OutboxMessage
from forecourt.customers.models import Customer
from forecourt.parties.models import Organization

log = logging.getLogger(__name__)

ERASED = "Not sent: the customer was erased."
NO_ADDRESS = "Not sent: the organization has no e-mail address."


def policy_of(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.outbox_max_attempts, first_delay=settings.outbox_retry_seconds)


def pending_ids(*, session: Session, settings: Settings | None = None, limit: int = 100) -> list[int]:
    lease = settings.outbox_lease_seconds if settings is not None else 120.0
    return outbox.due_ids(session=session, channel="email", lease_seconds=lease, limit=limit)


def compose(*, message: OutboxMessage, to: str, settings: Settings) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = to
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain="forecourt.example")
    body = message.body
    if message.link:
        body += f"\n\nSee it in your Forecourt portal: {settings.portal_url.rstrip('/')}{message.link}"
    email.set_content(body)
    return email


class _Mailer:
    """One SMTP connection for a batch, reopened after a failure."""

    def __init__(self, settings: Settings):
        self.settings, self.smtp = settings, None

    def send(self, email: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=15)
        try:
            self.smtp.send_message(email)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.smtp = None


def _address(session: Session, message: OutboxMessage) -> tuple[str | None, str]:
    """The address at send time, or why there is none."""
    if message.organization_id is not None:  # a tow company or a dealer: its own address
        organization = session.get(Organization, message.organization_id)
        return (organization.email if organization is not None else None) or None, NO_ADDRESS
    customer = session.get(Customer, message.customer_id) if message.customer_id is not None else None
    if customer is None or customer.erased_at is not None or not customer.email:
        return None, ERASED
    return customer.email, ""


def _claim(session: Session, message_id: int, settings: Settings) -> EmailMessage | str:
    """The e-mail to hand over, marked in flight; or ``gone`` / ``skipped`` (nobody to write to)."""
    message = outbox.take(session=session, message_id=message_id, lease_seconds=settings.outbox_lease_seconds)
    if message is None:
        return "gone"  # another sender has it, or it was sent or erased meanwhile
    to, why_not = _address(session, message)
    if to is None:
        outbox.mark_sent(message, note=why_not)
        return "skipped"
    outbox.mark_in_flight(message)
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


def send_pending(*, session_factory: sessionmaker, settings: Settings, limit: int = 100) -> dict:
    """Sends up to ``limit`` due e-mails; returns how many were sent, failed (to retry), dead, skipped.

    Each e-mail takes two short transactions around its hand-over (in flight, then sent or failed),
    so no lock is held while the mail server answers and a sender killed in between is noticed."""
    with transaction(session_factory) as session:
        ids = pending_ids(session=session, settings=settings, limit=limit)
    result = {"sent": 0, "failed": 0, "dead": 0, "skipped": 0, "gone": 0}
    mailer = _Mailer(settings)
    try:
        for message_id in ids:
            try:
                with transaction(session_factory, write=True) as session:
                    claimed = _claim(session, message_id, settings)
                if isinstance(claimed, str):
                    result[claimed] += 1
                    continue
                error = None
                try:
                    mailer.send(claimed)
                except (smtplib.SMTPException, OSError) as failure:
                    error = failure
                with transaction(session_factory, write=True) as session:
                    result[_finish(session, message_id, error, settings)] += 1
                if isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException):
                    break  # the mail server cannot be reached: the rest wait for the next round, attempts intact
            except Exception:  # a broken row must not stop the batch; its lease runs out and it is tried again
                log.exception("outbox message %s could not be processed", message_id)
                result["failed"] += 1
    finally:
        mailer.close()
    return result


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
