"""A new car's included On Call starts when it is sold: at an online order's hand-over (API and page)
and when a dealer sells it from its stock, in the same transaction, with the years of its model and
market. A resale (private, or traded in and sold again) adds nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from forecourt.assist import subscriptions
from forecourt.assist.models import Subscription
from forecourt.core.clock import today
from forecourt.core.errors import Conflict
from forecourt.sales.models import Order
from forecourt.vehicles import service as vehicles_service
from tests.factories import browser_for, csrf_token_of, fast_password_hashing  # noqa: F401  (autouse fixture)
from tests.sales.orders_scene import WEEK, order_in_state


def subscriptions_of(session, vehicle_id: int) -> list[Subscription]:
    session.expire_all()
    return list(session.scalars(select(Subscription).where(Subscription.vehicle_id == vehicle_id)
                                .order_by(Subscription.id)))


@pytest.fixture
def austria(make, session):
    """Terms of the test model in Austria (four years) and a market default in France (two)."""
    model_id = make.trim().model_id
    subscriptions.set_terms(session=session, model_id=model_id, market="AT", included_years=4, renewal_price=120)
    subscriptions.set_terms(session=session, model_id=None, market="FR", included_years=2, renewal_price=80)
    session.commit()


def _paid_order(make, *, country: str):
    dealer = make.dealer(country=country, opening_hours=WEEK)
    buyer = make.customer()
    order = order_in_state(make, buyer, dealer, "paid")
    make.grant(buyer, dealer, "sales_contact")  # given when an order is placed online
    return order, buyer, make.staff(dealer)


def test_the_api_hand_over_includes_on_call_for_the_models_years_in_the_market(make, client, session, austria):
    order, buyer, rep = _paid_order(make, country="AT")
    handed = client.post(f"/api/dealer/orders/{order.number}/handover", headers=rep.headers)
    assert handed.status_code == 200, handed.text
    [included] = subscriptions_of(session, order.vehicle_id)
    assert (included.plan, included.customer_id, included.price) == ("included", buyer.id, 0)
    assert (included.starts_on, included.ends_on) == (today(), subscriptions.add_years(today(), 4)
                                                      - timedelta(days=1))
    # the buyer sees it on their On Call page
    me = make.customer_login(buyer)
    [car] = client.get("/api/me/on-call", headers=me.headers).json()
    assert (car["status"]["state"], car["status"]["plan"]) == ("active", "included")

    again = client.post(f"/api/dealer/orders/{order.number}/handover", headers=rep.headers)
    assert again.status_code == 409
    assert [s.id for s in subscriptions_of(session, order.vehicle_id)] == [included.id]


def test_the_page_hand_over_includes_on_call_too(make, session, austria):
    order, buyer, rep = _paid_order(make, country="FR")  # no terms of the model in France: the market's two
    desk = browser_for(make, rep)
    handed = desk.post(f"/workspace/orders/{order.number}/handover", data={"csrf_token": csrf_token_of(session, desk)},
                       follow_redirects=False)
    assert handed.status_code == 303 and "flash=" in handed.headers["location"]
    [included] = subscriptions_of(session, order.vehicle_id)
    assert (included.plan, included.customer_id) == ("included", buyer.id)
    assert included.ends_on == subscriptions.add_years(today(), 2) - timedelta(days=1)
    page = browser_for(make, make.customer_login(buyer)).get("/me/on-call")
    assert "Included with the car" in page.text and "Active" in page.text


def test_a_hand_over_and_its_subscription_succeed_or_fail_together(make, session, monkeypatch):
    order, _, rep = _paid_order(make, country="DE")

    def refuse(**_):
        raise Conflict("On Call could not be set up.")

    monkeypatch.setattr(subscriptions, "included_on_sale", refuse)
    desk = browser_for(make, rep)
    refused = desk.post(f"/workspace/orders/{order.number}/handover",
                        data={"csrf_token": csrf_token_of(session, desk)}, follow_redirects=False)
    assert "error=" in refused.headers["location"]
    session.expire_all()
    assert session.get(Order, order.id).status == "confirmed"  # the keys stayed with the dealer
    assert vehicles_service.current_owner_id(session=session, vehicle_id=order.vehicle_id) is None


def _private_sale(make, client, seller, buyer, vin: str) -> None:
    code = client.post(f"/api/me/vehicles/{vin}/sale", headers=make.customer_login(seller).headers).json()["code"]
    bought = client.post("/api/me/purchases", headers=make.customer_login(buyer).headers, json={"code": code})
    assert bought.status_code == 201, bought.text


def test_recording_a_sale_includes_on_call_once_and_a_resale_adds_nothing(make, client, session, austria):
    dealer = make.dealer(country="AT")
    rep = make.staff(dealer)
    first, second = make.customer(), make.customer()
    make.grant(first, dealer, "sales_contact")
    stock = make.vehicle(selling_dealer_id=dealer.id)
    session.commit()
    sold = client.post(f"/api/vehicles/{stock.vin}/sale", headers=rep.headers, json={"customer_id": first.id})
    assert sold.status_code == 201, sold.text
    [included] = subscriptions_of(session, stock.id)
    assert (included.plan, included.customer_id, included.starts_on) == ("included", first.id, today())
    assert included.ends_on == subscriptions.add_years(today(), 4) - timedelta(days=1)

    _private_sale(make, client, first, second, stock.vin)  # the first owner sells it on
    assert [(s.id, s.customer_id) for s in subscriptions_of(session, stock.id)] == [(included.id, first.id)]
    # the rest of the included years go with the car
    assert subscriptions.convenience_allowed(session=session, vehicle_id=stock.id, today=today())


def test_a_used_car_sold_without_on_call_gets_no_included_years(make, client, session):
    dealer = make.dealer()
    rep = make.staff(dealer)
    owner, buyer = make.customer(), make.customer()
    make.grant(buyer, dealer, "sales_contact")
    used = make.vehicle(owner=owner, since=datetime(2017, 6, 1, tzinfo=UTC), model_year=2017)
    session.commit()
    code = client.post(f"/api/me/vehicles/{used.vin}/sale", headers=make.customer_login(owner).headers).json()["code"]
    assert client.post("/api/dealer/trade-ins", headers=rep.headers, json={"code": code}).status_code == 201
    assert client.post(f"/api/vehicles/{used.vin}/sale", headers=rep.headers,
                       json={"customer_id": buyer.id}).status_code == 201
    assert subscriptions_of(session, used.id) == []
    assert subscriptions.status_of(session=session, vehicle_id=used.id, today=date.today())["state"] == "none"
