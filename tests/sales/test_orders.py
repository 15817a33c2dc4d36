"""Online orders, service level: place, pay, confirm, assign, schedule, hand over, cancel; who may see what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from forecourt.consent import service as consent_service
from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.parties import service as parties_service
from forecourt.payments.models import PaymentEntry
from forecourt.payments.providers import Gateway
from forecourt.sales import commission, orders, till
from forecourt.sales.models import CommissionRule, Opportunity
from forecourt.vehicles import service as vehicles_service
from tests.factories import fast_password_hashing  # noqa: F401  (autouse: cheaper argon2id in these tests)
from tests.sales.orders_scene import WEEK, cashier_of, configuration, next_day

MONDAY_MORNING = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)  # 09:00 in Berlin


@pytest.fixture
def shop(make, session):
    dealer = make.dealer(name="Autohaus Nord", opening_hours=WEEK)
    rep = make.staff(dealer, Role.DEALER_SALES)
    buyer = make.customer()
    return dict(dealer=dealer, rep=parties_service.principal_for(parties_service.get_user(
        session=session, user_id=rep.user_id)), buyer=buyer, configuration=configuration(make, buyer),
        cashier=cashier_of(make, dealer))


def _place(session, shop, **kwargs):
    values = dict(session=session, customer_id=shop["buyer"].id, configuration_code=shop["configuration"].code,
                  dealer_id=shop["dealer"].id, allow_contact=True) | kwargs
    return orders.place(**values)


def _pay(session, shop, order, kind, key=None):
    """The buyer pays what is due at the dealer's till; its cashier records it."""
    amount = orders.due_now(session=session, order=order, kind=kind)
    return till.record_receipt(session=session, gateway=Gateway(), principal=shop["cashier"], number=order.number,
                               amount=amount, method="cash", key=key or f"key-{kind}-{order.number}")


def _money(session, order):
    money = orders.money_of(session=session, order=order)
    return money["state"], float(money["paid"])


def test_the_whole_way_from_order_to_keys(make, session, shop):
    dealer, rep, buyer = shop["dealer"], shop["rep"], shop["buyer"]
    model_id = make.trim().model_id
    network = CommissionRule(dealer_id=None, model_id=None, percent=Decimal("2"), fixed=0, valid_from=date(2020, 1, 1))
    for_dealer = CommissionRule(dealer_id=dealer.id, model_id=None, percent=Decimal("3"), fixed=0,
                                valid_from=date(2020, 1, 1))
    for_model = CommissionRule(dealer_id=dealer.id, model_id=model_id, percent=Decimal("4"), fixed=Decimal("150"),
                               valid_from=date(2020, 1, 1))
    session.add_all([network, for_dealer, for_model])
    session.flush()
    with frozen_at(MONDAY_MORNING):
        order = _place(session, shop)
        assert order.number.startswith("FO-") and len(order.number) == 10
        assert (order.status, _money(session, order)[0], float(order.price), float(order.deposit)) == (
            "placed", "awaiting_deposit", 42000.0, 4200.0)
        assert consent_service.active_grant(session=session, customer_id=buyer.id, organization_id=dealer.id,
                                            purpose_code="sales_contact") is not None
        with pytest.raises(Conflict, match="deposit is not paid"):
            orders.confirm(session=session, principal=rep, number=order.number)
        _pay(session, shop, order, "deposit")
        assert _money(session, order) == ("deposit_paid", 4200.0)
        orders.confirm(session=session, principal=rep, number=order.number)
        vin = make.vin()
        orders.assign_vehicle(session=session, principal=rep, number=order.number, vin=vin.lower())
        car = vehicles_service.get_by_vin(session=session, vin=vin)
        assert (car.trim_id, car.colour, car.model_year) == (shop["configuration"].trim_id, "Ruby red", 2025)
        at = datetime(2025, 6, 6, 15, 30)  # a Friday afternoon, the dealer's local time
        orders.schedule_delivery(session=session, principal=rep, number=order.number, at=at)
        assert (order.status, order.delivery_at) == ("delivery_scheduled", datetime(2025, 6, 6, 13, 30, tzinfo=UTC))
        with pytest.raises(Conflict, match="€37,800.00 is still to pay"):
            orders.hand_over(session=session, principal=rep, number=order.number)
        _pay(session, shop, order, "balance")
        assert _money(session, order)[0] == "paid_in_full"
        orders.hand_over(session=session, principal=rep, number=order.number)
    assert order.status == "delivered" and order.handed_over_at is not None
    ownership = vehicles_service.current_ownership(session=session, vehicle_id=car.id)
    assert (ownership.customer_id, ownership.sold_by_dealer_id) == (buyer.id, dealer.id)
    assert float(order.commission) == 42000 * 0.04 + 150
    assert "this dealer's rule for this model" in order.commission_rule and "4 %" in order.commission_rule
    with pytest.raises(Conflict, match="already delivered"):
        orders.cancel(session=session, gateway=Gateway(), principal=rep, number=order.number)


def test_commission_falls_back_from_dealer_to_network_default(make, session, shop):
    other_model = vehicles_service.create_model(session=session, code=f"X{make.n()}", name="Other", body="suv",
                                                year_from=2015)
    session.add(CommissionRule(dealer_id=shop["dealer"].id, model_id=other_model.id, percent=Decimal("9"), fixed=0,
                               valid_from=date(2020, 1, 1)))
    session.add(CommissionRule(dealer_id=shop["dealer"].id, model_id=None, percent=Decimal("3.5"), fixed=0,
                               valid_from=date(2099, 1, 1)))  # not in force yet
    session.flush()
    order = _place(session, shop)
    amount, words = orders.commission_for(session=session, order=order, on=date(2025, 6, 2))
    # no network rule existed: the default is made on first use
    assert float(amount) == 42000 * float(commission.NETWORK_DEFAULT_PERCENT) / 100 and "network default" in words
    session.add(CommissionRule(dealer_id=shop["dealer"].id, model_id=None, percent=Decimal("2.5"), fixed=0,
                               valid_from=date(2024, 1, 1)))
    session.flush()
    amount, words = orders.commission_for(session=session, order=order, on=date(2025, 6, 2))
    assert float(amount) == 1050.0 and "this dealer's rule" in words and "for this model" not in words


def test_a_receipt_key_counts_once(session, shop):
    order = _place(session, shop)
    first = _pay(session, shop, order, "deposit", key="TILL-123456")
    again = till.record_receipt(session=session, gateway=Gateway(), principal=shop["cashier"], number=order.number,
                                amount=4200, method="cash", key="TILL-123456")
    assert first.id == again.id and _money(session, order) == ("deposit_paid", 4200.0)
    assert session.scalar(select(func.count(PaymentEntry.id)).where(PaymentEntry.provider_reference == "TILL-123456")) == 1
    other = _place(session, shop)
    with pytest.raises(Conflict, match="already used"):
        till.record_receipt(session=session, gateway=Gateway(), principal=shop["cashier"], number=other.number,
                            amount=4200, method="cash", key="TILL-123456")
    with pytest.raises(Conflict, match="deposit is already paid"):
        orders.due_now(session=session, order=order, kind="deposit")
    with pytest.raises(Invalid, match="is due"):
        till.record_receipt(session=session, gateway=Gateway(), principal=shop["cashier"], number=order.number,
                            amount=10**6, method="cash", key="TILL-TOO-MUCH")


def test_deposit_is_a_share_with_a_floor():
    assert orders.deposit_for(42000) == Decimal("4200.00")
    assert orders.deposit_for(3000) == Decimal("500.00")
    assert orders.deposit_for(300) == Decimal("300.00")  # never more than the price
    assert orders.deposit_for(25999, percent=5, minimum=0) == Decimal("1300")


def test_placing_needs_the_contact_tick_and_an_active_dealer(make, session, shop):
    with pytest.raises(Invalid, match="Allow Autohaus Nord to contact me") as refused:
        _place(session, shop, allow_contact=False)
    assert refused.value.field == "allow_contact"
    assert consent_service.grants_of(session=session, customer_id=shop["buyer"].id) == []
    closed = make.dealer()
    parties_service.update_organization(session=session, organization_id=closed.id, changes={"is_active": False})
    for dealer_id in (closed.id, make.partner().id, 10**9):
        with pytest.raises(Invalid, match="Choose one of our dealers"):
            _place(session, shop, dealer_id=dealer_id)
    with pytest.raises(Invalid, match="typo"):
        _place(session, shop, configuration_code=shop["configuration"].code[:-1] + "0"
               if shop["configuration"].code[-1] != "0" else shop["configuration"].code[:-1] + "1")


def test_delivery_times_follow_the_calendar_and_the_opening_hours(make, session, shop):
    rep = shop["rep"]
    with frozen_at(MONDAY_MORNING):
        order = _place(session, shop)
        _pay(session, shop, order, "deposit")
        orders.confirm(session=session, principal=rep, number=order.number)
        with pytest.raises(Conflict, match="Assign the car"):
            orders.schedule_delivery(session=session, principal=rep, number=order.number,
                                     at=datetime(2025, 6, 3, 10, 0))
        orders.assign_vehicle(session=session, principal=rep, number=order.number, vin=make.vin())
        refusals = {
            datetime(2025, 5, 30, 10, 0): "in the future",
            datetime(2025, 6, 2, 8, 30): "in the future",  # earlier today
            datetime(2025, 6, 8, 10, 0): "closed on Sunday; it is open on Monday, Tuesday",
            datetime(2025, 6, 7, 14, 0): "open 09:00–13:00 on Saturday; 14:00 is outside",
            datetime(2025, 6, 3, 18, 0): "open 08:00–18:00 on Tuesday",
        }
        for at, message in refusals.items():
            with pytest.raises(Invalid, match=message):
                orders.schedule_delivery(session=session, principal=rep, number=order.number, at=at)
        assert order.status == "confirmed" and order.delivery_at is None
        orders.schedule_delivery(session=session, principal=rep, number=order.number,
                                 at=datetime(2025, 6, 7, 10, 0, tzinfo=UTC))  # 12:00 in Berlin, a Saturday
        assert (order.status, order.delivery_at) == ("delivery_scheduled", datetime(2025, 6, 7, 10, 0, tzinfo=UTC))


def test_a_bad_vin_is_refused_in_words(make, session, shop):
    order = _place(session, shop)
    _pay(session, shop, order, "deposit")
    orders.confirm(session=session, principal=shop["rep"], number=order.number)
    with pytest.raises(Invalid, match="A VIN has 17 characters"):
        orders.assign_vehicle(session=session, principal=shop["rep"], number=order.number, vin="WFC123")
    owned = make.vehicle(owner=make.customer())
    with pytest.raises(Conflict, match="not an unsold car of this trim"):
        orders.assign_vehicle(session=session, principal=shop["rep"], number=order.number, vin=owned.vin)
    stock = make.vehicle()  # unsold, same trim: taken from stock
    orders.assign_vehicle(session=session, principal=shop["rep"], number=order.number, vin=stock.vin)
    assert order.vehicle_id == stock.id


def test_cancelling_leaves_the_till_to_refund_what_it_took(session, shop):
    order = _place(session, shop)
    _pay(session, shop, order, "deposit")
    orders.cancel(session=session, gateway=Gateway(), principal=shop["rep"], number=order.number)
    assert order.status == "cancelled" and _money(session, order) == ("refund_due", 4200.0)
    with pytest.raises(Conflict, match="takes no more payments"):
        till.record_receipt(session=session, gateway=Gateway(), principal=shop["cashier"], number=order.number,
                            amount=1, method="cash", key="TILL-LATE-1")
    with pytest.raises(Invalid, match="no more than that"):
        till.refund(session=session, gateway=Gateway(), principal=shop["cashier"], number=order.number,
                    amount=5000, key="TILL-REFUND-1")
    till.refund(session=session, gateway=Gateway(), principal=shop["cashier"], number=order.number, amount=4200,
                key="TILL-REFUND-1", reason="order cancelled")
    assert _money(session, order) == ("refunded", 0.0)
    kinds = [(p["kind"], p["amount"]) for p in orders.payments_of(session=session, order_id=order.id)]
    assert kinds == [("receipt", 4200.0), ("refund", 4200.0)]


def test_orders_are_only_their_buyers_and_their_dealers(make, session, shop):
    order = _place(session, shop)
    stranger = make.customer()
    with pytest.raises(NotFound):
        orders.get_for_customer(session=session, customer_id=stranger.id, number=order.number)
    with pytest.raises(NotFound):
        orders.start_payment(session=session, gateway=Gateway(), customer_id=stranger.id, number=order.number,
                             kind="deposit")
    assert orders.get_for_customer(session=session, customer_id=shop["buyer"].id,
                                   number=order.number.lower()).id == order.id
    other_dealer = make.dealer()
    other_rep = parties_service.principal_for(parties_service.get_user(
        session=session, user_id=make.staff(other_dealer, Role.DEALER_SALES).user_id))
    consent_service.give(session=session, customer_id=shop["buyer"].id, organization_id=other_dealer.id,
                         purpose_code="sales_contact")
    for action in (orders.open_for_dealer, orders.confirm):
        with pytest.raises(NotFound):
            action(session=session, principal=other_rep, number=order.number)
    with pytest.raises(NotFound):
        orders.cancel(session=session, gateway=Gateway(), principal=other_rep, number=order.number)
    assert orders.list_for_dealer(session=session, dealer_id=other_dealer.id) == []
    assert [o.id for o in orders.list_for_dealer(session=session, dealer_id=shop["dealer"].id)] == [order.id]


def test_the_dealers_read_goes_through_the_consent_door(session, shop):
    order = _place(session, shop)
    buyer, dealer = shop["buyer"], shop["dealer"]

    def log_rows() -> int:
        return session.scalar(select(func.count(AccessLogEntry.id)).where(
            AccessLogEntry.customer_id == buyer.id, AccessLogEntry.organization_id == dealer.id,
            AccessLogEntry.purpose_code == "sales_contact"))

    before = log_rows()
    orders.open_for_dealer(session=session, principal=shop["rep"], number=order.number)
    assert log_rows() == before + 1
    consent_service.withdraw(session=session, customer_id=buyer.id, organization_id=dealer.id,
                             purpose_code="sales_contact")
    with pytest.raises(NotFound):
        orders.open_for_dealer(session=session, principal=shop["rep"], number=order.number)
    assert log_rows() == before + 1
    # the buyer still sees their order
    assert orders.get_for_customer(session=session, customer_id=buyer.id, number=order.number).id == order.id


def test_an_order_wins_the_reps_deal_for_the_same_configuration(make, session, shop):
    from forecourt.sales import stages

    stages.ensure_default_stages(session=session)
    deal = Opportunity(dealer_id=shop["dealer"].id, customer_id=shop["buyer"].id, title="Aurora for Dana",
                       configuration_id=shop["configuration"].id, stage_code="qualified", amount=42000)
    elsewhere = Opportunity(dealer_id=make.dealer().id, customer_id=shop["buyer"].id, title="Same car elsewhere",
                            configuration_id=shop["configuration"].id, stage_code="qualified", amount=42000)
    session.add_all([deal, elsewhere])
    session.flush()
    order = _place(session, shop)
    assert order.opportunity_id == deal.id and deal.status == "won" and deal.closed_at is not None
    assert elsewhere.status == "open"


def test_an_anonymous_configuration_becomes_the_buyers(make, session, shop):
    anonymous = configuration(make)
    order = _place(session, shop, configuration_code=anonymous.code)
    assert anonymous.customer_id == shop["buyer"].id and order.configuration_id == anonymous.id


def test_next_day_helper_lands_on_an_open_day():
    moment = next_day(0, 10, after=MONDAY_MORNING)
    assert moment.weekday() == 0 and moment.hour == 10 and moment > MONDAY_MORNING + timedelta(days=1)
