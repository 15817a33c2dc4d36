"""The driver's inbox and answers: open a message, accept an offer in one click.

Accepting does what the offer's call to action says, through the domain that owns it: a visit is
booked at the first free time (``workshop``), an extended warranty is bought (``vehicles.warranty``),
a quote request becomes a lead for the partner that made the offer (``sales.leads``). Each opening
and acceptance is recorded, with its revenue where there is one.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.clock import now
from forecourt.core.errors import Conflict, NotFound
from forecourt.core.i18n import _, gettext
from forecourt.core.money import Money, format_money
from forecourt.customers import service as customers_service
from forecourt.engagement import kinds
from forecourt.engagement.delivery import items_of, occasions_of, subject_of
from forecourt.engagement.models import Message, MessageItem, Offer, Response
from forecourt.parties import service as parties_service
from forecourt.sales import leads, routing_reasons
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles import warranty
from forecourt.workshop import proposals


def _own_message(session: Session, customer_id: int, message_id: int) -> Message:
    message = session.get(Message, message_id)
    if message is None or message.customer_id != customer_id or message.status != "sent":
        raise NotFound("Message not found")
    return message


def _accepted(session: Session, item_id: int) -> Response | None:
    return session.scalars(select(Response).where(Response.item_id == item_id, Response.kind == "accepted")).first()


def view(*, session: Session, message: Message) -> dict:
    """A message as the driver reads it, in their language (the page's)."""
    occasions = occasions_of(session, message.id)
    items = []
    for item, offer in items_of(session, message.id):
        sender = parties_service.get_organization(session=session, organization_id=offer.organization_id)
        items.append({"id": item.id, "offer_id": offer.id, "title": offer.title, "body": offer.body,
                      "sender": sender.name, "sender_id": sender.id, "purpose": offer.purpose,
                      "action": offer.action, "action_label": gettext(kinds.ACTIONS[offer.action]),
                      "price": format_money(Money.of(offer.price, offer.currency)) if offer.price is not None else None,
                      "benefit": offer.benefit, "accepted": _accepted(session, item.id) is not None})
    return {"id": message.id, "subject": subject_of(occasions) if occasions else "",
            "occasions": [gettext(kinds.OCCASIONS[o.kind]) for o in occasions], "sent_at": message.sent_at,
            "opened": message.opened_at is not None, "legal": message.legal, "items": items}


def inbox(*, session: Session, customer_id: int, limit: int = 50) -> list[dict]:
    messages = session.scalars(select(Message).where(Message.customer_id == customer_id, Message.status == "sent")
                               .order_by(Message.sent_at.desc(), Message.id.desc()).limit(limit))
    return [view(session=session, message=m) for m in messages]


def open_message(*, session: Session, customer_id: int, message_id: int, channel: str = "in_app") -> Message:
    """The driver read it: recorded once (the first time)."""
    message = _own_message(session, customer_id, message_id)
    if message.opened_at is None:
        message.opened_at = now()
        session.add(Response(message_id=message.id, customer_id=customer_id, kind="opened", channel=channel))
        session.flush()
    return message


def click(*, session: Session, customer_id: int, message_id: int, item_id: int) -> MessageItem:
    message = _own_message(session, customer_id, message_id)
    item = session.get(MessageItem, item_id)
    if item is None or item.message_id != message.id:
        raise NotFound("Offer not found")
    session.add(Response(message_id=message.id, item_id=item.id, customer_id=customer_id, kind="clicked"))
    session.flush()
    return item


def accept(*, session: Session, customer_id: int, message_id: int, item_id: int, slot: int = 0) -> Response:
    """One click: does what the offer says and records it. A second click changes nothing (409)."""
    message = _own_message(session, customer_id, message_id)
    item = session.get(MessageItem, item_id)
    if item is None or item.message_id != message.id:
        raise NotFound("Offer not found")
    if _accepted(session, item.id) is not None:
        raise Conflict(_("You have accepted this offer already."))
    offer = session.get(Offer, item.offer_id)
    occasion = next((o for o in occasions_of(session, message.id) if o.id == item.occasion_id), None)
    vehicle = vehicles_service.get(session=session, vehicle_id=occasion.vehicle_id) if occasion else None
    if vehicle is None or vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id) != customer_id:
        raise NotFound("Offer not found")  # the car changed hands: the offer was for its former owner
    outcome, revenue = _act(session, customer_id, offer, vehicle, slot)
    if message.opened_at is None:
        open_message(session=session, customer_id=customer_id, message_id=message.id)
    response = Response(message_id=message.id, item_id=item.id, customer_id=customer_id, kind="accepted",
                        outcome=outcome, revenue=revenue, currency=offer.currency if revenue is not None else None)
    session.add(response)
    session.flush()
    return response


def _act(session: Session, customer_id: int, offer: Offer, vehicle, slot: int) -> tuple[str, Decimal | None]:
    if offer.action == kinds.BOOK_SERVICE:
        organization = parties_service.get_organization(session=session, organization_id=offer.organization_id)
        dealer_id = organization.id if organization.kind == "dealer" else None
        found = proposals.offer(session=session, customer_id=customer_id, vin=vehicle.vin, job=offer.action_code,
                                dealer_id=dealer_id)
        if not found["slots"]:
            raise Conflict(_("%(dealer)s has no free time in the next two weeks; try again later.",
                             dealer=found["dealer"].name))
        chosen = found["slots"][min(slot, len(found["slots"]) - 1)]
        appointment = proposals.book_for_owner(session=session, customer_id=customer_id, vin=vehicle.vin,
                                               job=offer.action_code, dealer_id=found["dealer"].id,
                                               bay=chosen["bay"], starts_at=chosen["starts_at"])
        return f"appointment:{appointment.id}", offer.price
    if offer.action == kinds.BUY_EXTENSION:
        contract = warranty.buy_extension(session=session, customer_id=customer_id, vehicle_id=vehicle.id,
                                          seller_id=offer.organization_id, product_code=offer.action_code)
        return f"warranty:{contract.id}", Decimal(contract.price)
    customer = customers_service.get(session=session, customer_id=customer_id)
    recorded = leads.record(
        session=session, customer_id=customer_id, dealer_id=offer.organization_id, routed_by="offer",
        routing_facts=routing_reasons.from_offer(offer.title), source="web_form",
        contact=dict(first_name=customer.first_name, last_name=customer.last_name, email=customer.email,
                     phone=customer.phone, postcode=customer.postcode, city=customer.city),
        configuration=None, model_id=vehicle.trim.model_id, preferred_date=None, event_name=None,
        message=_("Please send me a quote: %(title)s", title=offer.title),
        request_line=_("Quote requested from an offer: %(title)s", title=offer.title))
    return f"lead:{recorded.lead.id}", None


def responses_of(*, session: Session, customer_id: int) -> list[Response]:
    return list(session.scalars(select(Response).where(Response.customer_id == customer_id).order_by(Response.id)))
