"""Online orders: a customer buys a saved configuration and picks the dealer who delivers it.

The order moves placed → confirmed → delivery_scheduled → delivered (or cancelled before hand-over);
its money moves awaiting_deposit → deposit_paid → paid_in_full (or refund_due → refunded). The money
is never stored on the order: it is read from the payments ledger, where only the card provider's
signed notifications and the delivering dealer's cashier (``sales.till``) record money received.
The buyer can ask to pay; nothing the buyer sends counts as paid.

The dealer reads an order through the consent door: placing it gives the delivering dealer
``sales_contact`` (the buyer ticks "Allow <dealer> to contact me about this order"), and every dealer
read of it is in the buyer's access log. If the buyer later withdraws, the order is gone for the
dealer like any other customer data.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import dates, events, zones
from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.core.money import Money, format_money
from forecourt.core.geo import distance_km
from forecourt.core import references
from forecourt.parties import service as parties_service
from forecourt.parties.markets import zone_of
from forecourt.payments import service as payments_service
from forecourt.payments.providers import Gateway
from forecourt.sales import configurator, opportunities, transfers
from forecourt.sales.commission import commission_for
from forecourt.sales.events import CarDelivered
from forecourt.sales.models import Configuration, Opportunity, Order
from forecourt.sharing import hubs as sharing_fleet
from forecourt.vehicles import service as vehicles_service

if TYPE_CHECKING:  # annotations only: the objects come from the other domain's service
    from forecourt.parties.models import Organization

PURPOSE = "sales_contact"
STEPS = ("placed", "confirmed", "delivery_scheduled", "delivered")
# Dealers have no time zone of their own yet; the network is in Germany, so opening hours are Berlin time.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CENT = Decimal("0.01")
SUBJECT = "order"  # how the payments ledger names an order


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def money_text(value, currency: str = "EUR") -> str:
    """An amount of the order's currency as the reader writes it ("€1,234.50", "₩4,590,000")."""
    return format_money(Money.of(value, currency))


def currency_of(*, session: Session, order_id: int) -> str:
    return session.get(Order, order_id).currency


def deposit_for(price, *, percent: float = 10, minimum: float = 500, currency: str = "EUR") -> Decimal:
    """A share of the price in whole units of its currency, never above the price. ``minimum`` is in euros
    (``FORECOURT_ORDER_DEPOSIT_MINIMUM``) and applies to orders in euros only: it is never converted."""
    total = Money.of(price, currency)
    share = Money(total.amount * Decimal(str(percent)) / 100, currency).amount.quantize(
        Decimal("1"), rounding=ROUND_HALF_UP)
    floor = _money(minimum) if currency == "EUR" else Decimal(0)
    return min(total.amount, max(share, floor))


# --- placing an order ----------------------------------------------------------------------------

def delivering_dealers(*, session: Session, near: tuple[float, float] | None = None,
                       market: str | None = None) -> list[dict]:
    """Active dealers (of ``market``, the configuration's), nearest first when we know where the customer
    lives, else by name."""
    dealers = [d for d in parties_service.list_organizations(session=session, kind="dealer")
               if market is None or d.market == market]
    rows = [{"dealer": d, "km": (round(distance_km(near[0], near[1], d.latitude, d.longitude), 1)
                                 if near and d.latitude is not None and d.longitude is not None else None)}
            for d in dealers]
    return sorted(rows, key=lambda r: (r["km"] is None, r["km"] or 0, r["dealer"].name))


def _delivering_dealer(session: Session, dealer_id: int | None, market: str | None = None) -> Organization:
    dealer = parties_service.organization_or_none(session=session, organization_id=dealer_id) if dealer_id else None
    if dealer is None or dealer.kind != "dealer" or not dealer.is_active:
        raise Invalid(_("Choose one of our dealers to deliver your car; this one does not take orders."),
                      field="dealer_id")
    if market is not None and dealer.market != market:
        # The configuration is priced in its market's currency; a dealer elsewhere cannot take that money.
        raise Invalid(_("%(name)s delivers in another market; choose a dealer where this configuration is priced.", name=dealer.name),
                      field="dealer_id")
    return dealer


def _new_number(session: Session) -> str:
    """"FO-" and six symbols without look-alikes: short enough to read out at the dealer's desk."""
    return references.fresh(session, Order.number, "FO", (3, 3))


def colour_of(configuration: Configuration) -> str | None:
    return next((line.get("name") for line in configuration.price_lines or [] if line.get("kind") == "colour"),
                None)


def place(*, session: Session, customer_id: int, configuration_code: str, dealer_id: int, allow_contact: bool,
          deposit_percent: float = 10, deposit_minimum: float = 500) -> Order:
    configuration = configurator.get_by_code(session=session, code=configuration_code)
    dealer = _delivering_dealer(session, dealer_id, configuration.market)
    if not allow_contact:
        raise Invalid(_("Tick “Allow %(name)s to contact me about this order”: the dealer needs to reach you to arrange the delivery.", name=dealer.name), field="allow_contact")
    consent_service.give(session=session, customer_id=customer_id, organization_id=dealer.id,
                         purpose_code=PURPOSE, method="online-order")
    price = _money(configuration.total_price)
    order = Order(number=_new_number(session), configuration_id=configuration.id, customer_id=customer_id,
                  dealer_id=dealer.id, price=price, currency=configuration.currency,
                  deposit=deposit_for(price, percent=deposit_percent, minimum=deposit_minimum,
                                      currency=configuration.currency),
                  status="placed", created_at=now())
    if configuration.customer_id is None:
        configuration.customer_id = customer_id  # an anonymous configuration becomes the buyer's
    session.add(order)
    session.flush()
    _win_the_deal(session, order)
    return order


def _win_the_deal(session: Session, order: Order) -> None:
    """The rep's open deal for this very configuration is won by the order."""
    opportunity = session.scalars(select(Opportunity).where(
        Opportunity.customer_id == order.customer_id, Opportunity.dealer_id == order.dealer_id,
        Opportunity.status == "open", Opportunity.configuration_id == order.configuration_id)
        .order_by(Opportunity.id)).first()
    if opportunity is None:
        return
    order.opportunity_id = opportunity.id
    session.flush()
    opportunities.close_won_by_order(session=session, opportunity_id=opportunity.id, at=now())


# --- reading orders ------------------------------------------------------------------------------

def _by_number(session: Session, number: str) -> Order | None:
    return session.scalars(select(Order).where(Order.number == (number or "").strip().upper())).first()


def get_for_customer(*, session: Session, customer_id: int, number: str) -> Order:
    order = _by_number(session, number)
    if order is None or order.customer_id is None or order.customer_id != customer_id:
        raise NotFound("Order not found")
    return order


def list_for_customer(*, session: Session, customer_id: int) -> list[Order]:
    return list(session.scalars(select(Order).where(Order.customer_id == customer_id)
                                .order_by(Order.created_at.desc(), Order.id.desc())))


def list_for_dealer(*, session: Session, dealer_id: int, include_closed: bool = False) -> list[Order]:
    """The deliveries a dealer prepares; the list names no buyer, so it needs no consent."""
    query = select(Order).where(Order.dealer_id == dealer_id)
    if not include_closed:
        query = query.where(Order.status.in_(("placed", "confirmed", "delivery_scheduled")))
    return list(session.scalars(query.order_by(Order.delivery_at.is_(None), Order.delivery_at, Order.created_at)))


def open_for_dealer(*, session: Session, principal: Principal, number: str, what: str = "order") -> Order:
    """Another dealer's order, or one whose buyer withdrew contact, does not exist for this dealer."""
    order = _by_number(session, number)
    if order is None or principal.organization_id is None or order.dealer_id != principal.organization_id:
        raise NotFound("Order not found")
    if order.customer_id is not None:  # an erased buyer left only the dealer's books
        consent_service.require(session=session, principal=principal, customer_id=order.customer_id,
                                purpose=PURPOSE, what=f"{what} {order.number}")
    return order


def payments_of(*, session: Session, order_id: int) -> list[dict]:
    """Every movement of money on the order, oldest first, with the payment it belongs to."""
    payments = {p.id: p for p in payments_service.payments_of(session=session, subject_kind=SUBJECT,
                                                              subject_id=order_id)}
    return [dict(id=e.id, payment_reference=payments[e.payment_id].reference,
                 provider=payments[e.payment_id].provider, kind=e.kind, amount=float(e.amount), method=e.method,
                 at=as_utc(e.at), reversed=False, reverses_entry_id=e.reverses_entry_id)
            for e in payments_service.entries_of(session=session, payment_ids=list(payments))]


def describe(*, session: Session, order: Order, balance: payments_service.Balance | None = None) -> dict:
    """The order as both sides read it: the car, the money, the dealer, the dates."""
    configuration = session.get(Configuration, order.configuration_id)
    car = configurator.describe(session=session, configuration=configuration)
    dealer = parties_service.get_organization(session=session, organization_id=order.dealer_id)
    vehicle = vehicles_service.get(session=session, vehicle_id=order.vehicle_id) if order.vehicle_id else None
    money = money_of(session=session, order=order, balance=balance)
    entries = payments_of(session=session, order_id=order.id)
    reversed_ids = {e["reverses_entry_id"] for e in entries if e["reverses_entry_id"]}
    for entry in entries:
        entry["reversed"] = entry["id"] in reversed_ids
    view = dict(number=order.number, status=order.status, payment_state=money["state"],
                configuration_code=car["display_code"], car=car["title"], colour=colour_of(configuration),
                lines=car["lines"], price=float(order.price), deposit=float(order.deposit), currency=order.currency,
                paid=float(money["paid"]), outstanding=float(money["outstanding"]),
                dealer=dealer, vin=vehicle.vin if vehicle else None, delivery_at=as_utc(order.delivery_at),
                handed_over_at=as_utc(order.handed_over_at), created_at=as_utc(order.created_at),
                payments=entries,
                commission=float(order.commission) if order.commission is not None else None,
                commission_rule=order.commission_rule)
    return view


def dealer_time(moment: datetime | None, dealer: Organization | None = None) -> datetime | None:
    """A moment on the dealer's clock (``dealer`` given), else the viewer's."""
    if moment is None:
        return None
    return as_utc(moment).astimezone(zone_of(dealer) if dealer is not None else zones.current_zone())


# --- money ---------------------------------------------------------------------------------------

def _state(order: Order, balance: payments_service.Balance) -> str:
    paid = balance.net
    if order.status == "cancelled":
        if paid > 0:
            return "refund_due"
        return "refunded" if balance.received > 0 else "cancelled"
    if paid >= _money(order.price):
        return "paid_in_full"
    return "deposit_paid" if paid >= _money(order.deposit) else "awaiting_deposit"


def money_of(*, session: Session, order: Order, balance: payments_service.Balance | None = None) -> dict:
    """What the ledger says about the order: paid (kept for good), its state, what is still to pay."""
    if balance is None:
        balance = payments_service.balances(session=session, subject_kind=SUBJECT, subject_ids=[order.id])[order.id]
    outstanding = max(Decimal(0), _money(order.price) - balance.net) if order.status != "cancelled" else Decimal(0)
    return dict(paid=balance.net, state=_state(order, balance), outstanding=outstanding)


def due_now(*, session: Session, order: Order, kind: str) -> Decimal:
    """The deposit still missing, or the balance once the deposit is in."""
    if order.status in ("cancelled", "delivered"):
        raise Conflict(_("Order %(number)s is %(status)s; it takes no more payments.", number=order.number,
                         status=order.status.replace("_", " ")))
    paid = money_of(session=session, order=order)["paid"]
    if kind == "deposit":
        if paid >= _money(order.deposit):
            raise Conflict(_("The deposit is already paid."), field="kind")
        return _money(order.deposit) - paid
    if kind == "balance":
        if paid < _money(order.deposit):
            raise Conflict(_("Please pay the deposit first."), field="kind")
        if paid >= _money(order.price):
            raise Conflict(_("Nothing is due on this order right now."), field="kind")
        return _money(order.price) - paid
    raise Invalid(_("Pay the deposit or the balance."), field="kind")


def start_payment(*, session: Session, gateway: Gateway, customer_id: int, number: str, kind: str) -> dict:
    """The buyer asks to pay what is due. By card, a payment the browser confirms with the card
    provider; without a card provider, where and how to pay at the dealer. Either way nothing is
    paid until the provider confirms it or the dealer's cashier records it."""
    order = get_for_customer(session=session, customer_id=customer_id, number=number)
    amount = due_now(session=session, order=order, kind=kind)
    provider = gateway.online
    dealer = parties_service.get_organization(session=session, organization_id=order.dealer_id)
    if provider is None:
        return dict(provider="manual", kind=kind, amount=float(amount), status="pay_at_dealer", reference=order.number,
                    client_secret=None, publishable_key=None,
                    instructions=_("Pay %(amount)s at %(dealer)s's till (cash, card or bank transfer quoting "
                                   "%(number)s). The dealer records your payment and it shows here.",
                                   amount=money_text(amount, order.currency), dealer=dealer.name, number=order.number))
    payment = payments_service.request(session=session, gateway=gateway, purpose=f"order_{kind}",
                                       subject_kind=SUBJECT, subject_id=order.id, customer_id=customer_id,
                                       payee_id=order.dealer_id, amount=amount, currency=order.currency)
    return payments_service.how_to_pay(payment=payment, gateway=gateway, payee_name=dealer.name, kind=kind)


def open_card_payment(*, session: Session, order: Order) -> payments_service.Payment | None:
    """The card payment the buyer started and has not confirmed yet (the page shows its card form)."""
    return next((p for p in reversed(payments_service.payments_of(session=session, subject_kind=SUBJECT,
                                                                  subject_id=order.id))
                 if p.status == "open" and p.client_secret), None)


# --- the dealer's side ---------------------------------------------------------------------------

def _open_order(order: Order, action: str) -> None:
    if order.status in ("delivered", "cancelled"):
        raise Conflict(_("Order %(number)s is already %(status)s; it cannot be %(action)s.", number=order.number, status=order.status, action=action))


def confirm(*, session: Session, principal: Principal, number: str) -> Order:
    order = open_for_dealer(session=session, principal=principal, number=number, what="confirm order")
    if order.status != "placed":
        _open_order(order, "confirmed")
        return order  # confirmed already
    if money_of(session=session, order=order)["paid"] < _money(order.deposit):
        raise Conflict(_("The deposit is not paid yet; confirm the order once it is."))
    order.status = "confirmed"
    session.flush()
    return order


def assign_vehicle(*, session: Session, principal: Principal, number: str, vin: str,
                   model_year: int | None = None) -> Order:
    """The car built for this order: registered now (or taken from unsold stock of the same trim)."""
    order = open_for_dealer(session=session, principal=principal, number=number, what="assign car to order")
    _open_order(order, "given a car")
    if order.status == "placed":
        raise Conflict(_("Confirm the order before assigning a car to it."))
    if order.vehicle_id is not None:
        raise Conflict(_("A car is already assigned to this order."), field="vin")
    configuration = session.get(Configuration, order.configuration_id)
    normalised = vehicles_service.normalise_vin(vin)
    try:
        vehicle = vehicles_service.get_by_vin(session=session, vin=normalised)
    except NotFound:
        trim = vehicles_service.get_trim(session=session, trim_id=configuration.trim_id)
        year = model_year or min(now().year, trim.year_to or 9999)
        vehicle = vehicles_service.register(session=session, vin=normalised, trim_id=configuration.trim_id,
                                            model_year=year, colour=colour_of(configuration))
    else:
        taken = session.scalars(select(Order.id).where(Order.vehicle_id == vehicle.id,
                                                       Order.status != "cancelled")).first()
        if (vehicle.trim_id != configuration.trim_id or taken is not None
                or vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id) is not None
                or vehicle.selling_dealer_id not in (None, order.dealer_id)):  # another dealer's stock
            raise Conflict(_("Vehicle %(normalised)s is already registered and is not an unsold car of this trim; check the VIN.", normalised=normalised), field="vin")
        if sharing_fleet.is_shared(session=session, vehicle_id=vehicle.id):
            raise Conflict(_("Vehicle %(normalised)s is in the shared fleet of a car-sharing hub and cannot be sold; "
                             "take it out of the fleet first.", normalised=normalised), field="vin")
    order.vehicle_id = vehicle.id
    session.flush()
    return order


def check_delivery_time(*, dealer: Organization, at: datetime) -> datetime:
    """In the future, on a day the dealer is open, within its opening hours; the time as UTC."""
    zone = zone_of(dealer)  # a time typed without an offset is the dealer's wall clock
    local = zones.wall_clock(at.date(), at.time(), zone).astimezone(zone) if at.tzinfo is None else at.astimezone(zone)
    if local <= now().astimezone(zone):
        raise Invalid(_("The delivery must be in the future; pick a later date."), field="at")
    weekday = local.weekday()
    spans = (dealer.opening_hours or {}).get(WEEKDAYS[weekday]) or []
    if not spans:
        open_days = [dates.weekday_name(i) for i, day in enumerate(WEEKDAYS) if (dealer.opening_hours or {}).get(day)]
        closed = dates.weekday_name(weekday)
        raise Invalid(_("%(name)s is closed on %(weekday)s; it is open on %(open_days)s. Choose another day.",
                        name=dealer.name, weekday=closed, open_days=dates.format_list(open_days)) if open_days else
                      _("%(name)s is closed on %(weekday)s. Choose another day.", name=dealer.name, weekday=closed),
                      field="at")
    clock = local.strftime("%H:%M")
    if not any(opens <= clock < closes for opens, closes in spans):
        hours = dates.format_list(f"{opens}–{closes}" for opens, closes in spans)
        raise Invalid(_("%(name)s is open %(hours)s on %(weekday)s; %(clock)s is outside those hours.", name=dealer.name,
                        hours=hours, weekday=dates.weekday_name(weekday), clock=clock),
                      field="at")
    return local.astimezone(now().tzinfo)


def schedule_delivery(*, session: Session, principal: Principal, number: str, at: datetime) -> Order:
    order = open_for_dealer(session=session, principal=principal, number=number, what="schedule delivery")
    _open_order(order, "scheduled")
    if order.status == "placed":
        raise Conflict(_("Confirm the order before scheduling its delivery."))
    if order.vehicle_id is None:
        raise Conflict(_("Assign the car (its VIN) before scheduling the delivery."), field="at")
    dealer = parties_service.get_organization(session=session, organization_id=order.dealer_id)
    order.delivery_at = check_delivery_time(dealer=dealer, at=at)
    order.status = "delivery_scheduled"
    session.flush()
    return order


def hand_over(*, session: Session, principal: Principal, number: str) -> Order:
    """Keys to the buyer: the car becomes theirs, sold by this dealer, and the dealer's share is fixed."""
    order = open_for_dealer(session=session, principal=principal, number=number, what="hand over order")
    _open_order(order, "handed over")
    if order.customer_id is None:
        raise Conflict(_("The buyer's account was erased; this order cannot be handed over."))
    if order.vehicle_id is None:
        raise Conflict(_("Assign the car (its VIN) before handing it over."), field="vin")
    if (money := money_of(session=session, order=order))["state"] != "paid_in_full":
        due = money["outstanding"]
        raise Conflict(_("%(money_text)s is still to pay; hand the car over once the order is paid in full.", money_text=money_text(due, order.currency)))
    moment = transfers.hand_over_stock(session=session, vehicle_id=order.vehicle_id, customer_id=order.customer_id,
                                       dealer_id=order.dealer_id).started_at
    order.commission, order.commission_rule = commission_for(session=session, order=order, on=moment.date())
    order.status, order.handed_over_at = "delivered", moment
    session.flush()
    events.publish(session, CarDelivered(order_id=order.id, vehicle_id=order.vehicle_id, dealer_id=order.dealer_id,
                                         customer_id=order.customer_id))
    return order


def cancel(*, session: Session, gateway: Gateway, principal: Principal, number: str) -> Order:
    """Before hand-over only; whatever was paid goes back to the buyer: card payments through the card
    provider at once, money taken at the till by the cashier (the order shows the refund as due)."""
    order = open_for_dealer(session=session, principal=principal, number=number, what="cancel order")
    if order.status == "cancelled":
        return order
    _open_order(order, "cancelled")
    order.status = "cancelled"
    payments_service.cancel_open(session=session, subject_kind=SUBJECT, subject_id=order.id)
    payments_service.refund_subject(session=session, gateway=gateway, principal=principal, subject_kind=SUBJECT,
                                    subject_id=order.id, key=f"cancel-{order.number}", online_only=True,
                                    reason=f"order {order.number} cancelled")
    session.flush()
    return order
