"""What engagement holds about one driver, for "download my data" and erasure (``privacy``)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forecourt.engagement.models import Contact, ContactChoice, Message, MessageItem, Occasion, Offer, Response


def export(*, session: Session, customer_id: int) -> dict:
    """Sections of "download my data": occasions found, messages with the offers and senders in them,
    what the driver did with them, every contact counted, and their choice of channels."""
    messages = []
    for message in session.scalars(select(Message).where(Message.customer_id == customer_id).order_by(Message.id)):
        items = session.execute(select(MessageItem.position, Offer.title, Offer.organization_id, Offer.purpose)
                                .join(Offer, Offer.id == MessageItem.offer_id)
                                .where(MessageItem.message_id == message.id).order_by(MessageItem.position)).all()
        messages.append({"id": message.id, "customer_id": customer_id, "occasion_id": message.occasion_id,
                         "status": message.status, "legal": message.legal, "sent_at": message.sent_at,
                         "opened_at": message.opened_at, "channels": message.channels,
                         "offers": [{"position": p, "title": t, "organization_id": o, "purpose": u}
                                    for p, t, o, u in items]})
    choice = session.get(ContactChoice, customer_id)
    return {
        "engagement_occasions": [
            {"id": o.id, "customer_id": customer_id, "kind": o.kind, "vehicle_id": o.vehicle_id,
             "window_starts_on": o.window_starts_on, "window_ends_on": o.window_ends_on, "arm": o.arm,
             "detected_at": o.detected_at}
            for o in session.scalars(select(Occasion).where(Occasion.customer_id == customer_id))],
        "engagement_messages": messages,
        "engagement_responses": [
            {"id": r.id, "customer_id": customer_id, "message_id": r.message_id, "kind": r.kind, "channel": r.channel,
             "outcome": r.outcome, "at": r.at}
            for r in session.scalars(select(Response).where(Response.customer_id == customer_id))],
        "engagement_contacts": [
            {"id": c.id, "customer_id": customer_id, "channel": c.channel, "topic": c.topic, "legal": c.legal,
             "at": c.at} for c in session.scalars(select(Contact).where(Contact.customer_id == customer_id))],
        "engagement_contact_choice": ({"customer_id": customer_id, "email": choice.email,
                                       "per_month": choice.per_month} if choice else None),
    }


def erase(*, session: Session, customer_id: int) -> dict:
    """Removes everything: messages are personal and keep nothing another duty needs. The offers
    (the partners' own) stay."""
    message_ids = select(Message.id).where(Message.customer_id == customer_id)
    counts = {
        "responses": session.execute(delete(Response).where(Response.customer_id == customer_id)).rowcount,
        "message_items": session.execute(delete(MessageItem).where(MessageItem.message_id.in_(message_ids))).rowcount,
    }
    counts["messages"] = session.execute(delete(Message).where(Message.customer_id == customer_id)).rowcount
    counts["occasions"] = session.execute(delete(Occasion).where(Occasion.customer_id == customer_id)).rowcount
    counts["contacts"] = session.execute(delete(Contact).where(Contact.customer_id == customer_id)).rowcount
    counts["contact_choices"] = session.execute(delete(ContactChoice).where(
        ContactChoice.customer_id == customer_id)).rowcount
    session.flush()
    return counts
