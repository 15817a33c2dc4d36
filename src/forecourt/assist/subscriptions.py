"""On Call subscriptions: included with a new car, reminded before expiry, renewed for a fee.

The subscription decides only the *convenience* services (the live map, remote status on the
owner's car page). SOS and crash intake never asks it: a driver whose subscription lapsed last week
still gets help, which is why nothing in ``assist.intake`` imports this module. An older car
without an embedded unit can be covered through the owner's phone app instead.

A renewal or phone app plan is bought through the payments interface, payable to the carmaker: the
period is written when the owner asks for it and covers the car only once the payments ledger says
its payment was received (by the card provider's signed notification, or recorded by the carmaker's
staff for a bank transfer). No reference the owner sends counts as payment.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.assist.models import Subscription, SubscriptionTerms
from forecourt.core import dates, outbox
from forecourt.core.clock import now
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _, lazy_gettext, ngettext
from forecourt.core.money import Money
from forecourt.parties import markets
from forecourt.parties import service as parties_service
from forecourt.payments import service as payments_service
from forecourt.payments.providers import Gateway
from forecourt.telematics import devices as telematics_devices
from forecourt.vehicles import service as vehicles_service

if TYPE_CHECKING:  # annotations only: the objects come from the other domain's service
    from forecourt.payments.models import Payment
    from forecourt.vehicles.models import Vehicle

REMINDER_DAYS = 45
DEFAULT_MARKET = "DE"
# Used when no terms are configured at all, so a sale never fails for want of a row: a renewal's
# yearly price in each market's currency (whole won, not 99 of them).
FALLBACK_YEARS, FALLBACK_PRICES = 3, {"EUR": 99, "KRW": 129_000}
# The phone app carries no embedded modem or crash sensor, so it costs less than the full service;
# a yearly list price in each market's currency, never converted.
PHONE_APP_PRICES = {"EUR": 39, "KRW": 49_000}


def _currency_of_market(market: str) -> str:
    return markets.reference(market)["currency"]
MAX_YEARS = 5
PLAN_NAMES = {"included": lazy_gettext("Included with the car"), "renewal": lazy_gettext("Renewed"),
              "phone_app": lazy_gettext("Phone app")}
LIVE_NEEDS_ON_CALL = lazy_gettext("Live map and remote status come with On Call.")


# --- terms ---------------------------------------------------------------------------------------

def set_terms(*, session: Session, model_id: int | None, market: str, included_years: int,
              renewal_price: float) -> SubscriptionTerms:
    """Creates or changes the terms of one model (``None``: every model) in one market."""
    market = market.strip().upper()
    if len(market) != 2:
        raise Invalid(_("A market is a two-letter country code such as DE."), field="market")
    if not 0 <= included_years <= 10:
        raise Invalid(_("Included years must be between 0 and 10."), field="included_years")
    if renewal_price < 0:
        raise Invalid(_("A renewal price cannot be negative."), field="renewal_price")
    terms = session.scalars(select(SubscriptionTerms).where(_model_is(model_id),
                                                            SubscriptionTerms.market == market)).first()
    if terms is None:
        terms = SubscriptionTerms(model_id=model_id, market=market)
        session.add(terms)
    terms.currency = markets.reference(market)["currency"] if market in {m["code"] for m in markets.MARKETS} \
        else terms.currency or "EUR"
    terms.included_years, terms.renewal_price = included_years, Money.of(renewal_price, terms.currency).rounded().amount
    session.flush()
    return terms


def _model_is(model_id: int | None):
    column = SubscriptionTerms.model_id
    return column.is_(None) if model_id is None else column == model_id


def terms_for(*, session: Session, model_id: int | None, market: str) -> SubscriptionTerms:
    """The model's own terms in the market, else the market's default; never fails (fallback terms)."""
    rows = session.scalars(select(SubscriptionTerms).where(SubscriptionTerms.market == market.upper(),
                                                           (SubscriptionTerms.model_id == model_id)
                                                           | SubscriptionTerms.model_id.is_(None))).all()
    own = [t for t in rows if t.model_id is not None]
    if own or rows:
        return (own or rows)[0]
    currency = _currency_of_market(market)
    return SubscriptionTerms(model_id=None, market=market.upper(), included_years=FALLBACK_YEARS, currency=currency,
                             renewal_price=FALLBACK_PRICES.get(currency, FALLBACK_PRICES["EUR"]))


def market_of(*, session: Session, vehicle: Vehicle) -> str:
    """A car's market is the country of the dealer that sold it (the default market otherwise)."""
    if vehicle.selling_dealer_id is None:
        return DEFAULT_MARKET
    dealer = parties_service.organization_or_none(session=session, organization_id=vehicle.selling_dealer_id)
    return (dealer.country if dealer and dealer.country else DEFAULT_MARKET).upper()


def _terms_of_vehicle(session: Session, vehicle: Vehicle) -> SubscriptionTerms:
    return terms_for(session=session, model_id=vehicle.trim.model_id,
                     market=market_of(session=session, vehicle=vehicle))


# --- dates ---------------------------------------------------------------------------------------

def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def _period(starts_on: date, years: int) -> tuple[date, date]:
    """``ends_on`` is the last covered day."""
    return starts_on, add_years(starts_on, years) - timedelta(days=1)


def _counting(session: Session, rows: list[Subscription]) -> list[Subscription]:
    """Included years always count; a bought period only once its payment is received and kept."""
    paid = payments_service.settled(session=session, payment_ids=[r.payment_id for r in rows if r.payment_id])
    return [r for r in rows if r.payment_id is None or r.payment_id in paid]


def in_force_of(*, session: Session, vehicle_id: int) -> list[Subscription]:
    """The car's periods that count, the one that ends last first."""
    rows = list(session.scalars(select(Subscription).where(Subscription.vehicle_id == vehicle_id)
                                .order_by(Subscription.ends_on.desc(), Subscription.id.desc())))
    return _counting(session, rows)


def latest(*, session: Session, vehicle_id: int) -> Subscription | None:
    """The subscription that ends last: a renewal bought in advance is the one that counts."""
    return next(iter(in_force_of(session=session, vehicle_id=vehicle_id)), None)


# --- the sale -------------------------------------------------------------------------------------

def included_on_sale(*, session: Session, vehicle_id: int, customer_id: int | None, sold_on: date,
                     market: str | None = None) -> Subscription | None:
    """On Call that comes with a new car; call it at hand-over. Once per car: a resale adds nothing."""
    existing = session.scalars(select(Subscription).where(Subscription.vehicle_id == vehicle_id,
                                                          Subscription.plan == "included")).first()
    if existing is not None:
        return existing
    vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
    terms = (terms_for(session=session, model_id=vehicle.trim.model_id, market=market) if market
             else _terms_of_vehicle(session, vehicle))
    if terms.included_years <= 0:
        return None
    starts_on, ends_on = _period(sold_on, terms.included_years)
    subscription = Subscription(vehicle_id=vehicle_id, customer_id=customer_id, plan="included",
                                starts_on=starts_on, ends_on=ends_on, price=0)
    session.add(subscription)
    session.flush()
    return subscription


# --- status ---------------------------------------------------------------------------------------

def _in_words(days: int) -> str:
    if days == 0:
        return _("ends today")
    if days > 0:
        return ngettext("ends in %(num)s day", "ends in %(num)s days", days)
    return ngettext("ended %(num)s day ago", "ended %(num)s days ago", -days)


def status_of(*, session: Session, vehicle_id: int, today: date) -> dict:
    """active | expiring (≤ 45 days left) | expired | none, with the plan and the end date in words.
    The periods are read once: the owner's car page and each push of its stream ask."""
    periods = in_force_of(session=session, vehicle_id=vehicle_id)
    subscription = periods[0] if periods else None
    if subscription is None:
        return {"state": "none", "plan": None, "plan_name": None, "starts_on": None, "ends_on": None,
                "days_left": None, "in_words": _("no On Call subscription"), "progress_percent": 0}
    days_left = (subscription.ends_on - today).days
    state = "expired" if days_left < 0 else "expiring" if days_left <= REMINDER_DAYS else "active"
    first = min(row.starts_on for row in periods)
    span = max((subscription.ends_on - first).days, 1)
    used = min(max((today - first).days, 0), span)
    return {"state": state, "plan": subscription.plan, "plan_name": str(PLAN_NAMES[subscription.plan]),
            "starts_on": subscription.starts_on, "ends_on": subscription.ends_on, "days_left": days_left,
            "in_words": f"{_in_words(days_left)} ({dates.format_date(subscription.ends_on, 'long')})",
            "progress_percent": round(100 * used / span)}


COVERED = ("active", "expiring")  # the states in which the convenience services run


def convenience_allowed(*, session: Session, vehicle_id: int, today: date) -> bool:
    """Live map and remote status need a current subscription; SOS and crash alerts never ask."""
    return status_of(session=session, vehicle_id=vehicle_id, today=today)["state"] in COVERED


def convenience_refusal(*, session: Session, vehicle_id: int, today: date) -> str | None:
    """Why the owner's live map and remote status are off, in words the page and the API both show;
    ``None`` while On Call covers them."""
    status = status_of(session=session, vehicle_id=vehicle_id, today=today)
    if status["state"] in COVERED:
        return None
    if status["state"] == "none":
        return str(LIVE_NEEDS_ON_CALL) + " " + _("This car has no On Call subscription.")
    return f"{LIVE_NEEDS_ON_CALL!s} " + _("Your subscription ended on %(day)s.",
                                          day=dates.format_date(status['ends_on'], 'long'))


# --- reminders ------------------------------------------------------------------------------------

def remind_due(*, session: Session, today: date) -> list[outbox.OutboxMessage]:
    """One reminder per subscription, 45 days before it ends (the job may run any number of times)."""
    due = session.scalars(select(Subscription).where(
        Subscription.reminded_at.is_(None), Subscription.customer_id.is_not(None),
        Subscription.ends_on >= today, Subscription.ends_on <= today + timedelta(days=REMINDER_DAYS))
        .order_by(Subscription.id)).all()
    sent = []
    for subscription in _counting(session, list(due)):
        newest = latest(session=session, vehicle_id=subscription.vehicle_id)
        if newest is not None and newest.id != subscription.id:
            subscription.reminded_at = now()  # already renewed: nothing to remind of
            continue
        vehicle = vehicles_service.get(session=session, vehicle_id=subscription.vehicle_id)
        if vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id) != subscription.customer_id:
            subscription.reminded_at = now()  # the car was sold; the new owner's page offers renewal
            continue
        with outbox.written_for(session, customer_id=subscription.customer_id):
            ends = dates.format_date(subscription.ends_on, "long")
            sent.append(outbox.enqueue(
                session=session, customer_id=subscription.customer_id, channel="email", topic="on_call_renewal",
                subject=_("On Call for your %(model)s ends on %(day)s", model=vehicle.trim.model.name, day=ends),
                body=_("Your On Call subscription for %(vin)s ends on %(day)s. Renew it to keep the live map and "
                       "remote status. SOS and crash alerts reach our call centre whether you renew or not.",
                       vin=vehicle.vin, day=ends),
                basis="contract", dedupe_key=f"on_call_renewal:{subscription.id}", link="/me/on-call"))
        subscription.reminded_at = now()
    session.flush()
    return sent


# --- buying -------------------------------------------------------------------------------------

def _owned_vehicle(session: Session, customer_id: int, vehicle_id: int) -> Vehicle:
    vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
    if vehicles_service.current_owner_id(session=session, vehicle_id=vehicle_id) != customer_id:
        raise NotFound("Vehicle not found")
    return vehicle


def _check_years(years: int) -> None:
    if not 1 <= years <= MAX_YEARS:
        raise Invalid(_("On Call is renewed for 1 to %(max_years)s years.", max_years=MAX_YEARS), field="years")


def _pending(session: Session, vehicle_id: int, plan: str, years: int) -> tuple[Subscription, Payment] | None:
    """The same purchase asked for before and not paid yet (a double click, a reload): reused."""
    for subscription in session.scalars(select(Subscription).where(
            Subscription.vehicle_id == vehicle_id, Subscription.plan == plan, Subscription.payment_id.is_not(None))
            .order_by(Subscription.id.desc())):
        payment = payments_service.get(session=session, payment_id=subscription.payment_id)
        if payment.status == "open" and add_years(subscription.starts_on, years) - timedelta(days=1) == \
                subscription.ends_on:
            return subscription, payment
    return None


def _next_start(session: Session, vehicle_id: int, today: date) -> date:
    current = latest(session=session, vehicle_id=vehicle_id)
    return max(current.ends_on + timedelta(days=1), today) if current is not None else today


def _buy(session: Session, gateway: Gateway, *, customer_id: int, vehicle_id: int, plan: str, years: int,
         price: Money, today: date) -> tuple[Subscription, Payment]:
    if (pending := _pending(session, vehicle_id, plan, years)) is not None:
        return pending
    starts_on, ends_on = _period(_next_start(session, vehicle_id, today), years)
    subscription = Subscription(vehicle_id=vehicle_id, customer_id=customer_id, plan=plan, starts_on=starts_on,
                                ends_on=ends_on, price=price.rounded().amount, currency=price.currency)
    session.add(subscription)
    session.flush()
    payment = payments_service.request(session=session, gateway=gateway, purpose=f"on_call_{plan}",
                                       subject_kind="subscription", subject_id=subscription.id,
                                       customer_id=customer_id, payee_id=parties_service.carmaker(session=session).id,
                                       amount=subscription.price, currency=subscription.currency)
    subscription.payment_id = payment.id
    session.flush()
    return subscription, payment


def renew(*, session: Session, gateway: Gateway, customer_id: int, vehicle_id: int, years: int,
          today: date | None = None) -> tuple[Subscription, Payment]:
    """A renewal to pay for; it starts the day after the current subscription ends (or today if it
    lapsed) and covers the car once its payment is received."""
    _check_years(years)
    vehicle = _owned_vehicle(session, customer_id, vehicle_id)
    terms = _terms_of_vehicle(session, vehicle)
    return _buy(session, gateway, customer_id=customer_id, vehicle_id=vehicle_id, plan="renewal", years=years,
                price=Money.of(terms.renewal_price, terms.currency or "EUR") * years, today=today or now().date())


def _active_devices(session: Session, vehicle_id: int) -> list:
    return [d for d in telematics_devices.devices_of(session=session, vehicle_id=vehicle_id) if d.is_active]


def _has_embedded_unit(session: Session, vehicle_id: int) -> bool:
    return any(d.kind == "embedded" for d in _active_devices(session, vehicle_id))


def has_phone_device(*, session: Session, vehicle_id: int) -> bool:
    return any(d.kind == "phone" for d in _active_devices(session, vehicle_id))


def _phone_app_price(session: Session, vehicle_id: int) -> Money:
    currency = _currency_of_market(market_of(session=session, vehicle=vehicles_service.get(session=session, vehicle_id=vehicle_id)))
    return Money.of(PHONE_APP_PRICES.get(currency, PHONE_APP_PRICES["EUR"]), currency)


def phone_app_plan(*, session: Session, gateway: Gateway, customer_id: int, vehicle_id: int, years: int = 1,
                   today: date | None = None) -> tuple[Subscription, Payment]:
    """On Call through the owner's phone for an older car without an embedded unit."""
    _check_years(years)
    _owned_vehicle(session, customer_id, vehicle_id)
    if _has_embedded_unit(session, vehicle_id):
        raise Invalid(_("This car has an embedded On Call unit; renew On Call instead."), field="plan")
    if not has_phone_device(session=session, vehicle_id=vehicle_id):
        raise Invalid(_("Register your phone for this car first (the app sends its SOS and position)."),
                      field="device")
    return _buy(session, gateway, customer_id=customer_id, vehicle_id=vehicle_id, plan="phone_app", years=years,
                price=_phone_app_price(session, vehicle_id) * years, today=today or now().date())


def buy(*, session: Session, gateway: Gateway, customer_id: int, vin: str, plan: str, years: int) -> dict:
    """The owner's purchase by VIN: the period asked for and how to pay it."""
    vehicle = vehicle_of_owner(session=session, customer_id=customer_id, vin=vin)
    chosen = phone_app_plan if plan == "phone_app" else renew
    subscription, payment = chosen(session=session, gateway=gateway, customer_id=customer_id, vehicle_id=vehicle.id,
                                   years=years)
    payee = parties_service.get_organization(session=session, organization_id=payment.payee_id)
    return {"subscription": describe(session=session, subscription=subscription),
            "payment": payments_service.how_to_pay(payment=payment, gateway=gateway, payee_name=payee.name)}


def describe(*, session: Session, subscription: Subscription) -> dict:
    in_force = bool(_counting(session, [subscription]))
    return {"vehicle_id": subscription.vehicle_id, "plan": subscription.plan, "starts_on": subscription.starts_on,
            "ends_on": subscription.ends_on, "price": subscription.price, "in_force": in_force}


def awaiting_payment(*, session: Session, customer_id: int) -> list[dict]:
    """The owner's purchases whose payment has not arrived yet, with how to pay them."""
    rows = []
    for subscription in session.scalars(select(Subscription).where(
            Subscription.customer_id == customer_id, Subscription.payment_id.is_not(None))
            .order_by(Subscription.id)):
        payment = payments_service.get(session=session, payment_id=subscription.payment_id)
        if payment.status == "open":
            rows.append(dict(subscription=subscription, payment=payment))
    return rows


# --- the owner's overview -----------------------------------------------------------------------

def overview_for_owner(*, session: Session, customer_id: int, today: date) -> list[dict]:
    """Each current car with its status and what the owner may buy for it."""
    rows = []
    for vehicle, _ownership in vehicles_service.vehicles_of(session=session, customer_id=customer_id):
        embedded = _has_embedded_unit(session, vehicle.id)
        terms = _terms_of_vehicle(session, vehicle)
        rows.append({"vin": vehicle.vin, "vehicle_id": vehicle.id, "model": vehicle.trim.model.name,
                     "model_year": vehicle.model_year, "embedded_unit": embedded,
                     "phone_device": has_phone_device(session=session, vehicle_id=vehicle.id),
                     "renewal_price": float(terms.renewal_price), "currency": terms.currency or "EUR",
                     "phone_app_price": float(_phone_app_price(session, vehicle.id).amount),
                     "status": status_of(session=session, vehicle_id=vehicle.id, today=today)})
    return rows


def vehicle_of_owner(*, session: Session, customer_id: int, vin: str) -> Vehicle:
    """The owner's current car by VIN, or NotFound (someone else's car does not exist for them)."""
    try:
        vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    except (NotFound, Invalid):
        raise NotFound("Vehicle not found") from None
    return _owned_vehicle(session, customer_id, vehicle.id)
