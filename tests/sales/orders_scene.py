"""Builders for order tests: a configuration, an open-all-week dealer, orders in any state.

``order_in_state`` writes rows directly (no consent given), so the access-control suite can check
that a dealer without the buyer's grant is refused. Its money is recorded the only way money counts:
by a cashier of the delivering dealer at the till.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from datetime import datetime, timedelta
from decimal import Decimal

from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.parties import service as parties_service
from forecourt.payments.providers import Gateway
from forecourt.sales import orders, till
from forecourt.sales.codes import new_code
from forecourt.sales.models import Configuration, Order
from forecourt.vehicles import service as vehicles_service

WEEK = {day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [["09:00", "13:00"]]}


def configuration(make, customer=None, total: float = 42000.0) -> Configuration:
    trim = make.trim()
    row = Configuration(code=new_code(), trim_id=trim.id, option_codes=["COL-RUBY"],
                        price_lines=[{"code": "COL-RUBY", "name": "Ruby red", "kind": "colour", "price": 900.0,
                                      "included_in": None}],
                        base_price=Decimal(str(total)) - 900, total_price=Decimal(str(total)),
                        customer_id=customer.id if customer else None)
    make.session.add(row)
    make.session.flush()
    return row


def next_day(weekday: int, hour: int, *, after: datetime | None = None) -> datetime:
    """The next ``weekday`` (0 = Monday) at least two days ahead, at ``hour`` Berlin time."""
    local = (after or now()).astimezone(ZoneInfo("Europe/Berlin")) + timedelta(days=2)
    while local.weekday() != weekday:
        local += timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def cashier_of(make, dealer):
    """A cashier of ``dealer`` (one per dealer and test), as the principal the services take."""
    login = make.staff(dealer, Role.DEALER_CASHIER)
    return parties_service.principal_for(parties_service.get_user(session=make.session, user_id=login.user_id))


def take_at_till(make, order, amount, key: str, cashier=None):
    """The delivering dealer's cashier records ``amount`` for the order."""
    cashier = cashier or cashier_of(make, parties_service.get_organization(session=make.session,
                                                                           organization_id=order.dealer_id))
    return till.record_receipt(session=make.session, gateway=Gateway(), principal=cashier, number=order.number,
                               amount=amount, method="card_terminal", key=key)


def order_in_state(make, customer, dealer, state: str = "placed", total: float = 42000.0) -> Order:
    """An order of ``customer`` delivered by ``dealer``: placed | deposit_paid | confirmed | assigned | paid."""
    session = make.session
    order = Order(number=orders._new_number(session), configuration_id=configuration(make, total=total).id,
                  customer_id=customer.id, dealer_id=dealer.id, price=Decimal(str(total)),
                  deposit=orders.deposit_for(total), created_at=now())
    session.add(order)
    session.flush()
    steps = ("placed", "deposit_paid", "confirmed", "assigned", "paid")
    reached = steps.index(state)
    cashier = cashier_of(make, dealer) if reached >= 1 else None
    if reached >= 1:
        take_at_till(make, order, order.deposit, f"T-DEP-{order.number}", cashier)
    if reached >= 2:
        order.status = "confirmed"
    if reached >= 3:
        order.vehicle_id = vehicles_service.register(session=session, vin=make.vin(),
                                                     trim_id=make.trim().id, model_year=2025).id
    if reached >= 4:
        take_at_till(make, order, order.price - order.deposit, f"T-BAL-{order.number}", cashier)
    session.commit()
    return order
