"""Messages reaching owners: the e-mail sender that drains the outbox, and the portal inbox.

The sender runs after the transactions that wrote the messages (``forecourt outbox send``). Each
message is sent in its own transaction, so one bad address or a mail server hiccup never holds up
the others: the row stays unsent with ``attempts`` and ``last_error`` and is tried again on the next
run. The address is looked up at send time: an erased customer has none, so their message is marked
done and never sent. Delivery is at least once: a crash between the SMTP hand-over and the commit
sends that one message again.

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

from forecourt.core.clock import now
from forecourt.core.config import Settings
from forecourt.core.db import transaction
from forecourt.core.errors import NotFound
from forecourt.core.outbox import OutboxMessage
from forecourt.customers.models import Customer
from forecourt.parties.models import Organization

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10  # then the row waits for a person to look at ``last_error``
ERASED = "Not sent: the customer was erased."
NO_ADDRESS = "Not sent: the organization has no e-mail address."


def pending_ids(*, session: Session, limit: int = 100) -> list[int]:
    return list(session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.channel == "email", OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMessage.attempts, OutboxMessage.id).limit(limit)))


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


def _send_one(session: Session, message_id: int, mailer: _Mailer, settings: Settings) -> str:
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.id == message_id)
                              .with_for_update(skip_locked=True)).first()
    if message is None or message.sent_at is not None:
        return "gone"  # another sender took it, or the customer was erased meanwhile
    if message.organization_id is not None:  # a tow company or a dealer: its own address
        organization = session.get(Organization, message.organization_id)
        to = organization.email if organization is not None else None
        if not to:
            message.sent_at, message.last_error = now(), NO_ADDRESS
            return "skipped"
    else:
        customer = session.get(Customer, message.customer_id) if message.customer_id is not None else None
        if customer is None or customer.erased_at is not None or not customer.email:
            message.sent_at, message.last_error = now(), ERASED
            return "skipped"
        to = customer.email
    message.attempts += 1
    try:
        mailer.send(compose(message=message, to=to, settings=settings))
    except (smtplib.SMTPException, OSError) as error:
        message.last_error = f"{type(error).__name__}: {error}"[:2000]
        log.warning("outbox message %s not sent (attempt %s): %s", message.id, message.attempts, error)
        return "failed"
    message.sent_at, message.last_error = now(), None
    return "sent"


def send_pending(*, session_factory: sessionmaker, settings: Settings, limit: int = 100) -> dict:
    """Sends up to ``limit`` unsent e-mails; returns how many were sent, failed (to retry) and skipped."""
    with transaction(session_factory) as session:
        ids = pending_ids(session=session, limit=limit)
    result = {"sent": 0, "failed": 0, "skipped": 0, "gone": 0}
    mailer = _Mailer(settings)
    try:
        for message_id in ids:
            try:
                with transaction(session_factory) as session:
                    result[_send_one(session, message_id, mailer, settings)] += 1
            except Exception:  # a broken row must not stop the batch; it stays unsent
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
