"""Sending composed messages when their hold has passed, within the contact-pressure rules.

A message waits while the driver's quiet hours last, and while the cap of their channel is reached
(it is tried again the next day, and given up as ``held`` once all its occasions' windows have
closed). Each offer's grant is checked again at sending: a grant withdrawn since composing takes its
offer out, and a message left with nothing to say is never sent. It lands in the in-app inbox (an
outbox row, so the driver's notifications show it) and goes by e-mail too where the driver chose
e-mail. The e-mail rests on every (sender, purpose) grant of its offers: its text has a one-click
unsubscribe link for each, and its List-Unsubscribe header withdraws them all (a provider's button
means "no more of this"); the inbox names each sender with a one-click stop of its own.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import outbox
from forecourt.core.clock import as_utc, now
from forecourt.core.i18n import _, gettext
from forecourt.engagement import kinds, pressure
from forecourt.engagement.models import Message, MessageItem, Occasion, Offer, Response
from forecourt.parties import service as parties_service

TOPIC = "engagement"
RECALL_BASIS = "safety_recalls"
BATCH = 1000


def occasions_of(session: Session, message_id: int) -> list[Occasion]:
    return list(session.scalars(select(Occasion).where(Occasion.message_id == message_id).order_by(Occasion.id)))


def items_of(session: Session, message_id: int) -> list[tuple[MessageItem, Offer]]:
    query = (select(MessageItem, Offer).join(Offer, Offer.id == MessageItem.offer_id)
             .where(MessageItem.message_id == message_id).order_by(MessageItem.position, MessageItem.id))
    return [(item, offer) for item, offer in session.execute(query)]


def _drop_withdrawn(session: Session, message: Message) -> list[tuple[MessageItem, Offer]]:
    kept = []
    for item, offer in items_of(session, message.id):
        if consent_service.active_grant(session=session, customer_id=message.customer_id,
                                        organization_id=offer.organization_id, purpose_code=offer.purpose):
            kept.append((item, offer))
        else:
            session.execute(delete(MessageItem).where(MessageItem.id == item.id))
    return kept


def subject_of(occasions: list[Occasion]) -> str:
    """The first occasion says what it is about (a recall first of all)."""
    lead = sorted(occasions, key=lambda o: (not o.legal, o.id))[0]
    return gettext(kinds.OCCASIONS[lead.kind])


def _body(session: Session, occasions: list[Occasion], items) -> str:
    lines = [gettext(kinds.OCCASIONS[o.kind]) + "." for o in occasions]
    for _item, offer in items:
        sender = parties_service.get_organization(session=session, organization_id=offer.organization_id).name
        lines.append(_("%(sender)s: %(title)s", sender=sender, title=offer.title))
    lines.append(_("Open your inbox to accept an offer in one click, or to stop a sender's offers."))
    return "\n".join(lines)


def _grants(items) -> list[tuple[int, str]]:
    """Each (organization, purpose) with an offer in the message, in the message's order."""
    return list(dict.fromkeys((offer.organization_id, offer.purpose) for _item, offer in items))


def _window_closed(occasions: list[Occasion], today: date) -> bool:
    return all(o.window_ends_on < today for o in occasions)


def deliver(*, session: Session, message: Message, at: datetime,
            quiet: tuple[int, int] = pressure.QUIET_HOURS) -> str:
    """Sends one due message if the rules let it go now; returns its status afterwards."""
    customer_id = message.customer_id
    occasions = occasions_of(session, message.id)
    items = _drop_withdrawn(session, message)
    if not items and not message.legal:
        message.status = "empty"
        return message.status
    if not pressure.allowed(session=session, customer_id=customer_id, channel="in_app", at=at,
                            legal=message.legal, quiet=quiet):
        if pressure.in_quiet_hours(session=session, customer_id=customer_id, at=at, quiet=quiet):
            message.send_after = pressure.quiet_ends(session=session, customer_id=customer_id, at=at, quiet=quiet)
        elif _window_closed(occasions, as_utc(at).date()):
            message.status = "held"
        else:
            message.send_after = as_utc(at) + timedelta(days=1)
        return message.status
    channels = ["in_app"]
    with outbox.written_for(session, customer_id=customer_id):
        subject, body = subject_of(occasions)[:200], _body(session, occasions, items)
    first = items[0][1] if items else None
    basis = RECALL_BASIS if message.legal else first.purpose
    outbox.enqueue(session=session, customer_id=customer_id, channel="in_app", topic=TOPIC, subject=subject,
                   body=body, basis=basis, link=f"/me/offers#message-{message.id}",
                   dedupe_key=f"engagement:{message.id}:in_app")
    if pressure.allowed(session=session, customer_id=customer_id, channel="email", at=at, legal=message.legal,
                        quiet=quiet) and (message.legal or pressure.choice_of(session=session,
                                                                              customer_id=customer_id).email):
        channels.append("email")
        outbox.enqueue(session=session, customer_id=customer_id, channel="email", topic=TOPIC, subject=subject,
                       body=body, basis=basis, link=f"/me/offers#message-{message.id}",
                       consent_organization_id=None if message.legal else first.organization_id,
                       consent_grants=_grants(items) or None,
                       dedupe_key=f"engagement:{message.id}:email")
    for channel in channels:
        pressure.record_contact(session=session, customer_id=customer_id, channel=channel, at=at, topic=TOPIC,
                                legal=message.legal)
        session.add(Response(message_id=message.id, customer_id=customer_id, kind="delivered", channel=channel, at=at))
    message.status, message.sent_at, message.channels = "sent", as_utc(at), ",".join(channels)
    session.flush()
    return message.status


def deliver_due(*, session: Session, at: datetime | None = None, quiet: tuple[int, int] = pressure.QUIET_HOURS,
                limit: int = BATCH) -> dict:
    """Every waiting message whose hold has passed, oldest first (at most ``limit`` per run)."""
    at = at or now()
    due = list(session.scalars(select(Message).where(Message.status == "waiting", Message.send_after <= at)
                               .order_by(Message.send_after, Message.id).limit(limit)))
    counts: dict[str, int] = {}
    for message in due:
        status = deliver(session=session, message=message, at=at, quiet=quiet)
        counts[status] = counts.get(status, 0) + 1
    session.flush()
    return counts
