"""Online orders: a customer buys a saved configuration and picks the dealer who delivers it.

The order moves placed → confirmed → delivery_scheduled → delivered (or cancelled before hand-over);
its money moves awaiting_deposit → deposit_paid → paid_in_full (or refunded). Payments are keyed by
the provider's reference, so a retried callback or a double click never charges twice.

The dealer reads an order through the consent door: placing it gives the delivering dealer
``sales_contact`` (the buyer ticks "Allow <dealer> to contact me about this order"), and every dealer
read of it is in the buyer's access log. If the buyer later withdraws, the order is gone for the
dealer like any other customer data.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.geo import distance_km
from forecourt.parties import service as parties_service
from forecourt.parties.models import Organization
from forecourt.sales import configurator, opportunities, transfers
from forecourt.sales.codes import ALPHABET
from forecourt.sales.models import CommissionRule, Configuration, Opportunity, Order, Payment
from forecourt.vehicles import service as vehicles_service

PURPOSE = "sales_contact"
STEPS = ("placed", "confirmed", "delivery_scheduled", "delivered")
# Dealers have no time zone of their own yet; the network is in Germany, so opening hours are Berlin time.
DEALER_TIME = ZoneInfo("Europe/Berlin")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
# The network's share for a delivering dealer when no one has set a rule (made on first hand-over).
NETWORK_DEFAULT_PERCENT = Decimal("3.00")
CENT = Decimal("0.01")


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def euros(value) -> str:
    return f"€{_money(value):,.2f}"


def deposit_for(price, *, percent: float = 10, minimum: float = 500) -> Decimal:
    """A share of the price in whole euros, never below the minimum and never above the price."""
    share = (_money(price) * Decimal(str(percent)) / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return min(_money(price), max(share, _money(minimum)))


# --- placing an order ----------------------------------------------------------------------------

def delivering_dealers(*, session: Session, near: tuple[float, float] | None = None) -> list[dict]:
    """Active dealers, nearest first when we know where the customer lives, else by name."""
    dealers = parties_service.list_organizations(session=session, kind="dealer")
    rows = [{"dealer": d, "km": (round(distance_km(near[0], near[1], d.latitude, d.longitude), 1)
                                 if near and d.latitude is not None and d.longitude is not None else None)}
            for d in dealers]
    return sorted(rows, key=lambda r: (r["km"] is None, r["km"] or 0, r["dealer"].name))


def _delivering_dealer(session: Session, dealer_id: int | None) -> Organization:
    dealer = session.get(Organization, dealer_id) if dealer_id else None
    if dealer is None or dealer.kind != "dealer" or not dealer.is_active:
        raise Invalid("Choose one of our dealers to deliver your car; this one does not take orders.",
                      field="dealer_id")
    return dealer


def _new_number(session: Session) -> str:
    """"FO-" and six symbols without look-alikes: short enough to read out at the dealer's desk."""
    while True:
        body = "".join(secrets.choice(ALPHABET) for _ in range(6))
        number = f"FO-{body[:3]}-{body[3:]}"
        if session.scalars(select(Order.id).where(Order.number == number)).first() is None:
            return number


def colour_of(configuration: Configuration) -> str | None:
    return next((line.get("name") for line in configuration.price_lines or [] if line.get("kind") == "colour"),
                None)


def place(*, session: Session, customer_id: int, configuration_code: str, dealer_id: int, allow_contact: bool,
          deposit_percent: float = 10, deposit_minimum: float = 500) -> Order:
    configuration = configurator.get_by_code(session=session, code=configuration_code)
    dealer = _delivering_dealer(session, dealer_id)
    if not allow_contact:
        raise Invalid(f"Tick “Allow {dealer.name} to contact me about this order”: the dealer needs to reach "
                      "you to arrange the delivery.", field="allow_contact")
    consent_service.give(session=session, customer_id=customer_id, organization_id=dealer.id,
                         purpose_code=PURPOSE, method="online-order")
    price = _money(configuration.total_price)
    order = Order(number=_new_number(session), configuration_id=configuration.id, customer_id=customer_id,
                  dealer_id=dealer.id, price=price,
                  deposit=deposit_for(price, percent=deposit_percent, minimum=deposit_minimum), paid=Decimal(0),
                  payment_state="awaiting_deposit", status="placed", created_at=now())
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


def payments_of(*, session: Session, order_id: int) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.order_id == order_id)
                                .order_by(Payment.received_at, Payment.id)))


def describe(*, session: Session, order: Order) -> dict:
    """The order as both sides read it: the car, the money, the dealer, the dates."""
    configuration = session.get(Configuration, order.configuration_id)
    car = configurator.describe(session=session, configuration=configuration)
    dealer = parties_service.get_organization(session=session, organization_id=order.dealer_id)
    vehicle = vehicles_service.get(session=session, vehicle_id=order.vehicle_id) if order.vehicle_id else None
    view = dict(number=order.number, status=order.status, payment_state=order.payment_state,
                configuration_code=car["display_code"], car=car["title"], colour=colour_of(configuration),
                lines=car["lines"], price=float(order.price), deposit=float(order.deposit), paid=float(order.paid),
                outstanding=float(max(Decimal(0), _money(order.price) - _money(order.paid)))
                if order.status != "cancelled" else 0.0,
                dealer=dealer, vin=vehicle.vin if vehicle else None, delivery_at=as_utc(order.delivery_at),
                handed_over_at=as_utc(order.handed_over_at), created_at=as_utc(order.created_at),
                payments=payments_of(session=session, order_id=order.id),
                commission=float(order.commission) if order.commission is not None else None,
                commission_rule=order.commission_rule)
    return view


def dealer_time(moment: datetime | None) -> datetime | None:
    return as_utc(moment).astimezone(DEALER_TIME) if moment else None


# --- money ---------------------------------------------------------------------------------------

def _payment_state(order: Order) -> str:
    paid = _money(order.paid)
    if order.status == "cancelled":
        return order.payment_state  # ``cancel`` says "refunded" once the money is back
    if paid >= _money(order.price):
        return "paid_in_full"
    return "deposit_paid" if paid >= _money(order.deposit) else "awaiting_deposit"


def record_payment(*, session: Session, order_id: int, kind: str, amount, reference: str) -> Payment:
    """Money in (deposit, balance) or out (refund). The provider's reference makes it idempotent."""
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound("Order not found")
    reference = (reference or "").strip()
    if not reference:
        raise Invalid("A payment needs the payment provider's reference.", field="reference")
    existing = session.scalars(select(Payment).where(Payment.reference == reference)).first()
    if existing is not None:
        if existing.order_id != order.id or existing.kind != kind:
            raise Conflict("This payment reference belongs to another payment.", field="reference")
        return existing  # the same payment reported twice
    amount = _money(amount)
    if amount <= 0:
        raise Invalid("A payment amount must be more than zero.", field="amount")
    paid, price = _money(order.paid), _money(order.price)
    if kind == "refund":
        if amount > paid:
            raise Invalid(f"Only {euros(paid)} was paid, so no more than that can be refunded.", field="amount")
        order.paid = paid - amount
    elif kind in ("deposit", "balance"):
        if order.status in ("cancelled", "delivered"):
            raise Conflict(f"Order {order.number} is {order.status.replace('_', ' ')}; it takes no more payments.")
        if kind == "deposit" and paid >= _money(order.deposit):
            raise Conflict("The deposit is already paid.", field="kind")
        if kind == "balance" and paid < _money(order.deposit):
            raise Conflict("Please pay the deposit first.", field="kind")
        if amount > price - paid:
            raise Invalid(f"Only {euros(price - paid)} is still to pay.", field="amount")
        order.paid = paid + amount
    else:
        raise Invalid("A payment is a deposit, a balance or a refund.", field="kind")
    payment = Payment(order_id=order.id, kind=kind, amount=amount, reference=reference, received_at=now())
    session.add(payment)
    order.payment_state = _payment_state(order)
    session.flush()
    return payment


def pay(*, session: Session, customer_id: int, number: str, kind: str, reference: str | None = None) -> Payment:
    """The portal's payment: what is due now, in test mode (there is no card provider in Forecourt yet).

    ``reference`` comes from the page the customer paid on, so a double click records one payment.
    """
    order = get_for_customer(session=session, customer_id=customer_id, number=number)
    paid = _money(order.paid)
    if kind == "deposit":
        amount = _money(order.deposit) - paid
    elif kind == "balance":
        amount = _money(order.price) - paid
    else:
        raise Invalid("Pay the deposit or the balance.", field="kind")
    reference = reference or f"TEST-{secrets.token_hex(8).upper()}"
    existing = session.scalars(select(Payment).where(Payment.reference == reference)).first()
    if existing is None and amount <= 0:
        raise Conflict("Nothing is due on this order right now." if kind == "balance"
                       else "The deposit is already paid.", field="kind")
    return record_payment(session=session, order_id=order.id, kind=kind, amount=amount, reference=reference)


def test_mode_reference() -> str:
    """A fresh reference for a portal payment form (a stand-in for the card provider's)."""
    return f"TEST-{secrets.token_hex(8).upper()}"


# --- the dealer's side ---------------------------------------------------------------------------

def _open_order(order: Order, action: str) -> None:
    if order.status in ("delivered", "cancelled"):
        raise Conflict(f"Order {order.number} is already {order.status}; it cannot be {action}.")


def confirm(*, session: Session, principal: Principal, number: str) -> Order:
    order = open_for_dealer(session=session, principal=principal, number=number, what="confirm order")
    if order.status != "placed":
        _open_order(order, "confirmed")
        return order  # confirmed already
    if _money(order.paid) < _money(order.deposit):
        raise Conflict("The deposit is not paid yet; confirm the order once it is.")
    order.status = "confirmed"
    session.flush()
    return order


def assign_vehicle(*, session: Session, principal: Principal, number: str, vin: str,
                   model_year: int | None = None) -> Order:
    """The car built for this order: registered now (or taken from unsold stock of the same trim)."""
    order = open_for_dealer(session=session, principal=principal, number=number, what="assign car to order")
    _open_order(order, "given a car")
    if order.status == "placed":
        raise Conflict("Confirm the order before assigning a car to it.")
    if order.vehicle_id is not None:
        raise Conflict("A car is already assigned to this order.", field="vin")
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
            raise Conflict(f"Vehicle {normalised} is already registered and is not an unsold car of this "
                           "trim; check the VIN.", field="vin")
    order.vehicle_id = vehicle.id
    session.flush()
    return order


def check_delivery_time(*, dealer: Organization, at: datetime) -> datetime:
    """In the future, on a day the dealer is open, within its opening hours; the time as UTC."""
    local = at.replace(tzinfo=DEALER_TIME) if at.tzinfo is None else at.astimezone(DEALER_TIME)
    if local <= now().astimezone(DEALER_TIME):
        raise Invalid("The delivery must be in the future; pick a later date.", field="at")
    weekday = local.weekday()
    spans = (dealer.opening_hours or {}).get(WEEKDAYS[weekday]) or []
    if not spans:
        open_days = [DAY_NAMES[i] for i, day in enumerate(WEEKDAYS) if (dealer.opening_hours or {}).get(day)]
        hint = f"; it is open on {', '.join(open_days)}" if open_days else ""
        raise Invalid(f"{dealer.name} is closed on {DAY_NAMES[weekday]}{hint}. Choose another day.", field="at")
    clock = local.strftime("%H:%M")
    if not any(opens <= clock < closes for opens, closes in spans):
        hours = ", ".join(f"{opens}–{closes}" for opens, closes in spans)
        raise Invalid(f"{dealer.name} is open {hours} on {DAY_NAMES[weekday]}; {clock} is outside those hours.",
                      field="at")
    return local.astimezone(now().tzinfo)


def schedule_delivery(*, session: Session, principal: Principal, number: str, at: datetime) -> Order:
    order = open_for_dealer(session=session, principal=principal, number=number, what="schedule delivery")
    _open_order(order, "scheduled")
    if order.status == "placed":
        raise Conflict("Confirm the order before scheduling its delivery.")
    if order.vehicle_id is None:
        raise Conflict("Assign the car (its VIN) before scheduling the delivery.", field="at")
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
        raise Conflict("The buyer's account was erased; this order cannot be handed over.")
    if order.vehicle_id is None:
        raise Conflict("Assign the car (its VIN) before handing it over.", field="vin")
    if order.payment_state != "paid_in_full":
        due = _money(order.price) - _money(order.paid)
        raise Conflict(f"{euros(due)} is still to pay; hand the car over once the order is paid in full.")
    moment = transfers.hand_over_stock(session=session, vehicle_id=order.vehicle_id, customer_id=order.customer_id,
                                       dealer_id=order.dealer_id).started_at
    order.commission, order.commission_rule = commission_for(session=session, order=order, on=moment.date())
    order.status, order.handed_over_at = "delivered", moment
    session.flush()
    return order


def cancel(*, session: Session, principal: Principal, number: str) -> Order:
    """Before hand-over only; whatever was paid goes back to the buyer."""
    order = open_for_dealer(session=session, principal=principal, number=number, what="cancel order")
    if order.status == "cancelled":
        return order
    _open_order(order, "cancelled")
    paid = _money(order.paid)
    order.status = "cancelled"
    if paid > 0:
        record_payment(session=session, order_id=order.id, kind="refund", amount=paid,
                       reference=f"REFUND-{order.number}")
        order.payment_state = "refunded"
    session.flush()
    return order


# --- the dealer's share --------------------------------------------------------------------------

def network_default_rule(*, session: Session) -> CommissionRule:
    rule = session.scalars(select(CommissionRule).where(CommissionRule.dealer_id.is_(None),
                                                        CommissionRule.model_id.is_(None))
                           .order_by(CommissionRule.valid_from.desc())).first()
    if rule is None:
        rule = CommissionRule(dealer_id=None, model_id=None, percent=NETWORK_DEFAULT_PERCENT, fixed=Decimal(0),
                              valid_from=date(2000, 1, 1))
        session.add(rule)
        session.flush()
    return rule


def commission_for(*, session: Session, order: Order, on: date) -> tuple[Decimal, str]:
    """The most specific rule in force: this dealer and model > this dealer > this model > the network."""
    configuration = session.get(Configuration, order.configuration_id)
    model_id = vehicles_service.get_trim(session=session, trim_id=configuration.trim_id).model_id
    rules = list(session.scalars(select(CommissionRule).where(
        CommissionRule.valid_from <= on,
        (CommissionRule.dealer_id == order.dealer_id) | CommissionRule.dealer_id.is_(None),
        (CommissionRule.model_id == model_id) | CommissionRule.model_id.is_(None))))
    if not rules:
        rules = [network_default_rule(session=session)]
    rule = max(rules, key=lambda r: (r.dealer_id is not None, r.model_id is not None, r.valid_from, r.id))
    amount = (_money(order.price) * _money(rule.percent) / 100 + _money(rule.fixed)).quantize(CENT, ROUND_HALF_UP)
    scope = {(True, True): "this dealer's rule for this model", (True, False): "this dealer's rule",
             (False, True): "the network's rule for this model", (False, False): "the network default"}[
        (rule.dealer_id is not None, rule.model_id is not None)]
    parts = [f"{format(_money(rule.percent).normalize(), 'f')} % of {euros(order.price)}"] if rule.percent else []
    if rule.fixed:
        parts.append(f"{euros(rule.fixed)} per car")
    words = f"{' + '.join(parts) or 'nothing'} ({scope}, valid from {rule.valid_from:%d %b %Y})"
    return amount, words
