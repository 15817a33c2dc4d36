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
STARTTLS or TLS, login); webhooks (dispatch notices) by ``assist.notices``; commands to cars
(``mqtt`` rows, ``telematics.commands``) are published to the broker, QoS 1, and count as sent once
it acknowledged them (a command past its deadline is not sent at all). In-app messages need no
transport: they are in the owner's inbox (``/me/messages``) from the moment they are written.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from forecourt.assist import notices
from forecourt.core import events, outbox
from forecourt.core.clock import as_utc, now
from forecourt.core.config import Settings
from forecourt.core.db import transaction
from forecourt.core.errors import NotFound
from forecourt.core.events import RetryPolicy
from forecourt.core.outbox import OutboxMessage, SendNow
from forecourt.customers import service as customers_service
from forecourt.messaging.mail import Mailer, compose
from forecourt.parties import service as parties_service
from forecourt.telematics import commands
from forecourt.telematics.listeners.publish import CommandPublisher

log = logging.getLogger(__name__)

ERASED = "Not sent: the customer was erased."
NO_ADDRESS = "Not sent: the organization has no e-mail address."
EXPIRED = "Not sent: the command timed out."
TRANSPORTED = ("email", "webhook", "mqtt")  # in-app messages are read where they are; codec12 goes with its tracker


@dataclass(frozen=True)
class CarMessage:
    """A command to publish to a car."""

    topic: str
    payload: bytes
    command_id: int
    expires_in: int  # seconds the car may still act on it: the broker drops it after that


class Transports:
    """A round's connections: one SMTP session, one broker connection, each opened when first needed."""

    def __init__(self, settings: Settings, mailer: Mailer | None = None):
        self.settings = settings
        self.mailer = mailer or Mailer(settings)
        self._publisher: CommandPublisher | None = None

    @property
    def publisher(self) -> CommandPublisher:
        if self._publisher is None:
            self._publisher = CommandPublisher(self.settings.mqtt_url)
        return self._publisher

    def close(self) -> None:
        self.mailer.close()
        if self._publisher is not None:
            self._publisher.close()


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


def _command(session: Session, message: OutboxMessage) -> CarMessage | str:
    """A command is sent only while the car may still act on it; a failed publish is tried again
    within seconds (someone is standing at the car)."""
    command_id = commands.command_id_of(message)
    if command_id is None or not commands.still_open(session=session, command_id=command_id):
        outbox.mark_sent(message, note=EXPIRED)
        return "skipped"
    outbox.mark_in_flight(message)
    left = (as_utc(commands.get(session=session, command_id=command_id).expires_at) - now()).total_seconds()
    return CarMessage(topic=message.subject, payload=message.body.encode(), command_id=command_id,
                      expires_in=max(1, int(left)))


def _claim(session: Session, message_id: int, settings: Settings) -> EmailMessage | CarMessage | str:
    """The e-mail to hand over, marked in flight; or what became of the message (``gone``: another
    sender has it or it was sent; ``skipped``: nobody to write to; a webhook's outcome)."""
    message = outbox.take(session=session, message_id=message_id, lease_seconds=settings.outbox_lease_seconds)
    if message is None or message.channel not in TRANSPORTED:
        return "gone"
    if message.channel == "webhook":
        return _webhook(session, message, settings)
    if message.channel == "mqtt":
        return _command(session, message)
    to, why_not = _address(session, message)
    if to is None:
        outbox.mark_sent(message, note=why_not)
        return "skipped"
    outbox.mark_in_flight(message)
    with outbox.written_for(session, customer_id=message.customer_id, organization_id=message.organization_id):
        return compose(message=message, to=to, settings=settings, session=session)


def _finish(session: Session, message_id: int, error: Exception | None, settings: Settings) -> str:
    message = session.get(OutboxMessage, message_id)
    if message is None:
        return "gone"  # the customer was erased while it was in flight
    command_id = commands.command_id_of(message) if message.channel == "mqtt" else None
    if error is None:
        if command_id is not None:
            commands.mark_sent(session=session, command_id=command_id)
        outbox.mark_sent(message)
        return "sent"
    log.warning("outbox message %s not sent (attempt %s): %s", message.id, message.attempts, error)
    outcome = outbox.mark_failed(message, f"{type(error).__name__}: {error}", policy_of(settings))
    if command_id is not None and outcome == "failed":
        message.next_attempt_at = now() + timedelta(seconds=min(10, 2 ** (message.attempts - 1)))
    return outcome


def _send(session_factory: sessionmaker, settings: Settings, message_id: int, transports: Transports,
          skip: set[str] | None = None) -> tuple[str, Exception | None]:
    """Two short transactions around the hand-over (in flight, then sent or failed), so no lock is
    held while the mail server answers and a sender killed in between is noticed by the next one.

    ``skip``: the transports found unreachable in this round ("mail", "broker"); their messages wait
    for the next round with their attempts intact, and a transport that cannot be reached is added."""
    skip = skip if skip is not None else set()
    if skip:
        with transaction(session_factory) as session:
            message = session.get(OutboxMessage, message_id)
            if message is not None and _transport_of(message.channel) in skip:
                return "later", None
    with transaction(session_factory, write=True) as session:
        claimed = _claim(session, message_id, settings)
    if isinstance(claimed, str):
        return claimed, None
    error = None
    try:
        if isinstance(claimed, CarMessage):
            transports.publisher.publish(claimed.topic, claimed.payload, expires_in=claimed.expires_in)
        else:
            transports.mailer.send(claimed)
    except (smtplib.SMTPException, OSError) as failure:
        error = failure
        if not isinstance(failure, smtplib.SMTPException):
            skip.add("broker" if isinstance(claimed, CarMessage) else "mail")
    with transaction(session_factory, write=True) as session:
        return _finish(session, message_id, error, settings), error


def _transport_of(channel: str) -> str:
    return "broker" if channel == "mqtt" else "mail"


def send_message(*, session_factory: sessionmaker, settings: Settings, message_id: int,
                 mailer: Mailer | None = None) -> str:
    """Sends one outbox message: "sent", "failed" (it stays, to retry after its back-off), "dead"
    (attempts spent: an operator replays it), "skipped" (never to be sent: erased customer, no
    address) or "gone" (sent already or taken by another sender). ``mailer`` shares one SMTP
    connection across a batch."""
    own = mailer is None
    transports = Transports(settings, mailer)
    try:
        return _send(session_factory, settings, message_id, transports)[0]
    finally:
        if own:
            transports.close()
        elif transports._publisher is not None:
            transports._publisher.close()


def send_pending(*, session_factory: sessionmaker, settings: Settings, limit: int = 100) -> dict:
    """Sends up to ``limit`` due messages; returns how many were sent, failed (to retry), dead, skipped."""
    with transaction(session_factory) as session:
        ids = pending_ids(session=session, settings=settings, limit=limit)
    result = {"sent": 0, "failed": 0, "dead": 0, "skipped": 0, "gone": 0, "later": 0}
    transports = Transports(settings)
    unreachable: set[str] = set()  # the mail server or the broker cannot be reached: the rest of its kind wait
    try:
        for message_id in ids:
            try:
                outcome, _error = _send(session_factory, settings, message_id, transports, skip=unreachable)
                result[outcome] += 1
            except Exception:  # a broken row must not stop the batch; its lease runs out and it is tried again
                log.exception("outbox message %s could not be processed", message_id)
                result["failed"] += 1
    finally:
        transports.close()
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

def _shown_now():
    """An in-app message written during the driver's quiet hours (a survey invitation) shows from
    their morning on, as its e-mail leaves then."""
    return or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now())


def inbox(*, session: Session, customer_id: int, limit: int = 200) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.customer_id == customer_id, OutboxMessage.channel == "in_app", _shown_now())
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)))


def unread_count(*, session: Session, customer_id: int) -> int:
    return session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.customer_id == customer_id, OutboxMessage.channel == "in_app",
        OutboxMessage.read_at.is_(None), _shown_now())) or 0


def mark_read(*, session: Session, customer_id: int, message_id: int) -> OutboxMessage:
    """Only the owner's own in-app messages; anybody else's does not exist for them."""
    message = session.get(OutboxMessage, message_id)
    if message is None or message.customer_id != customer_id or message.channel != "in_app":
        raise NotFound("Message not found")
    if message.read_at is None:
        message.read_at = now()
        session.flush()
    return message
