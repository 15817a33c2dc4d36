"""Demo data: cars ordered online, paid at the dealer's till and handed over, through the real services.

For the first dealers, a few buyers who allowed them sales contact ordered a car in the past months:
the cashier recorded the deposit at the till and the balance by bank transfer (the manual payment
provider), the sales rep confirmed, assigned the car, booked the delivery and handed it over, and the
carmaker's commission rule fixed the dealer's share, so the commission statements have months to
show. The demo driver has an order of her own whose deposit she paid at the till, and one buyer's
deposit is still due, so the till has work waiting.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.assist import handover
from forecourt.consent import service as consent_service
from forecourt.consent.models import Grant
from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.customers.models import Customer
from forecourt.demo import driver
from forecourt.parties.markets import zone_of
from forecourt.parties import service as parties_service
from forecourt.parties.models import Organization, User
from forecourt.payments.providers import Gateway
from forecourt.sales import configurator, orders, till
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.models import Trim, Vehicle

DEALERS = 3
DELIVERED_PER_DEALER = 3
SERIAL_START = 900_000  # VIN serial numbers the population never uses


def _staff(session: Session, dealer_id: int, role: Role):
    user = session.scalars(select(User).where(User.organization_id == dealer_id, User.role == role.value)
                           .order_by(User.id)).first()
    return parties_service.principal_for(user) if user is not None else None


def _open_slot(dealer: Organization, after: datetime) -> datetime:
    """An hour after opening on the dealer's first open day after ``after``."""
    zone = zone_of(dealer)
    local = after.astimezone(zone)
    for offset in range(1, 15):
        day = (local + timedelta(days=offset)).date()
        spans = (dealer.opening_hours or {}).get(orders.WEEKDAYS[day.weekday()]) or []
        if spans:
            hours, minutes = (int(part) for part in spans[0][0].split(":"))
            return datetime.combine(day, time(hours, minutes), tzinfo=zone) + timedelta(hours=1)
    raise RuntimeError(f"{dealer.name} is never open")


class _Vins:
    """New VINs for ordered cars, shaped like the demo's own for the same trim."""

    def __init__(self, session: Session):
        self.session, self.serial = session, SERIAL_START

    def next(self, trim_id: int) -> str | None:
        sample = self.session.scalar(select(Vehicle.vin).where(Vehicle.trim_id == trim_id).limit(1))
        if sample is None:
            return None
        self.serial += 1
        return vehicles_service.with_check_digit(f"{sample[:11]}{self.serial:06d}")


def _place(session: Session, rng: Random, *, customer_id: int, dealer_id: int, trims: list[Trim]):
    trim = rng.choice(trims)
    configuration = configurator.save(session=session, trim_id=trim.id, option_codes=[], customer_id=customer_id,
                                      random=rng)
    order = orders.place(session=session, customer_id=customer_id, configuration_code=configuration.code,
                         dealer_id=dealer_id, allow_contact=True)
    return order, trim.id


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    gateway = Gateway()  # the manual provider: every payment here went through a dealer's till
    trims = list(session.scalars(select(Trim).where(Trim.year_to.is_(None)).order_by(Trim.id)))
    dealers = list(session.scalars(select(Organization).where(Organization.kind == "dealer")
                                   .order_by(Organization.id).limit(DEALERS)))
    lena = session.scalar(select(Customer.id).where(Customer.email == driver.EMAIL))
    vins = _Vins(session)
    placed = delivered = 0
    for index, dealer in enumerate(dealers):
        rep, cashier = _staff(session, dealer.id, Role.DEALER_SALES), _staff(session, dealer.id, Role.DEALER_CASHIER)
        if rep is None or cashier is None or not trims:
            continue
        # Only buyers whose permission is current: placing the order then records no new consent
        # (a receipt's id is random, and the same seed must build the same network).
        current = consent_service.current_notice(session=session).version
        allowed = set(session.scalars(select(Grant.customer_id).where(
            Grant.organization_id == dealer.id, Grant.purpose_code == "sales_contact", Grant.withdrawn_at.is_(None),
            Grant.expires_at.is_(None), Grant.notice_version == current)))
        buyers = sorted(allowed - {lena})
        for customer_id in rng.sample(buyers, min(len(buyers), DELIVERED_PER_DEALER)):
            ordered_at = datetime.combine((now - timedelta(days=rng.randint(40, 110))).date(), time(9, 30),
                                          tzinfo=zone_of(dealer))
            with frozen_at(ordered_at):
                order, trim_id = _place(session, rng, customer_id=customer_id, dealer_id=dealer.id, trims=trims)
                till.record_receipt(session=session, gateway=gateway, principal=cashier, number=order.number,
                                    amount=order.deposit, method="card_terminal", key=f"demo-{order.number}-deposit")
                orders.confirm(session=session, principal=rep, number=order.number)
            vin = vins.next(trim_id)
            if vin is None:
                continue
            with frozen_at(ordered_at + timedelta(days=9)):
                orders.assign_vehicle(session=session, principal=rep, number=order.number, vin=vin)
                delivery = _open_slot(dealer, ordered_at + timedelta(days=14 + rng.randint(0, 6)))
                orders.schedule_delivery(session=session, principal=rep, number=order.number, at=delivery)
            with frozen_at(delivery + timedelta(minutes=20)):
                due = orders.money_of(session=session, order=order)["outstanding"]
                till.record_receipt(session=session, gateway=gateway, principal=cashier, number=order.number,
                                    amount=due, method="transfer", key=f"demo-{order.number}-balance")
                handover.hand_over_order(session=session, principal=rep, number=order.number)
            placed, delivered = placed + 1, delivered + 1
        if index == 0 and lena in allowed:  # the demo driver's own order, deposit paid at the till
            with frozen_at(now - timedelta(days=5)):
                order, _trim = _place(session, rng, customer_id=lena, dealer_id=dealer.id, trims=trims)
                till.record_receipt(session=session, gateway=gateway, principal=cashier, number=order.number,
                                    amount=order.deposit, method="card_terminal", key=f"demo-{order.number}-deposit")
                orders.confirm(session=session, principal=rep, number=order.number)
            placed += 1
            if buyers:  # someone whose deposit the till is still waiting for
                with frozen_at(now - timedelta(days=1)):
                    _place(session, rng, customer_id=rng.choice(buyers), dealer_id=dealer.id, trims=trims)
                placed += 1
    session.flush()
    return {"sales_orders": placed, "sales_orders_delivered": delivered}
