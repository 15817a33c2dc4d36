"""A customer never records money received; an invented payment reference buys nothing; a cashier of
another dealer takes no money for this one. Each was possible through the routes before."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from forecourt.core.auth import Role
from forecourt.payments.models import PaymentEntry
from tests.factories import browser_for, csrf_token_of, fast_password_hashing  # noqa: F401  (autouse fixture)
from tests.sales.orders_scene import WEEK, order_in_state


def _scene(make):
    dealer = make.dealer(opening_hours=WEEK)
    buyer = make.customer()
    order = order_in_state(make, buyer, dealer, "assigned")  # deposit paid at the till, car assigned
    make.grant(buyer, dealer, "sales_contact")
    return dealer, buyer, order, make.customer_login(buyer), make.staff(dealer)


def test_the_buyer_cannot_mark_the_balance_paid(make, client, session):
    dealer, buyer, order, me, rep = _scene(make)
    entries = session.scalar(select(func.count(PaymentEntry.id)))
    asked = client.post(f"/api/me/orders/{order.number}/payments", headers=me.headers, json={"kind": "balance"})
    assert asked.status_code == 200 and asked.json()["status"] == "pay_at_dealer"
    assert "€37,800.00" in asked.json()["instructions"]
    forged = client.post(f"/api/me/orders/{order.number}/payments", headers=me.headers,
                         json={"kind": "balance", "reference": "PSP-I-PAID-HONEST"})
    assert forged.status_code == 422
    for body in ({"kind": "balance", "amount": 37800}, {"kind": "refund"}):
        assert client.post(f"/api/me/orders/{order.number}/payments", headers=me.headers, json=body).status_code == 422
    mine = client.get(f"/api/me/orders/{order.number}", headers=me.headers).json()
    assert (mine["payment_state"], mine["paid"], mine["outstanding"]) == ("deposit_paid", 4200.0, 37800.0)
    assert session.scalar(select(func.count(PaymentEntry.id))) == entries
    refused = client.post(f"/api/dealer/orders/{order.number}/handover", headers=rep.headers)
    assert refused.status_code == 409 and "still to pay" in refused.text
    # the page's form says where to pay and records nothing either
    browser = browser_for(make, me)
    token = csrf_token_of(session, browser)
    browser.post(f"/me/orders/{order.number}/payments", data={"csrf_token": token, "kind": "balance",
                                                             "reference": "TEST-0123456789"})
    page = browser.get(f"/me/orders/{order.number}")
    assert "Pay at" in page.text and "€37,800.00" in page.text
    assert session.scalar(select(func.count(PaymentEntry.id))) == entries


def test_only_the_delivering_dealers_cashier_takes_the_money(make, client, session):
    dealer, buyer, order, me, rep = _scene(make)
    body = {"amount": "37800.00", "method": "transfer", "key": "transfer-0001"}
    elsewhere = make.staff(make.dealer(), Role.DEALER_CASHIER)
    for caller in (me, rep, elsewhere, make.staff(dealer, Role.DEALER_SERVICE), make.staff(make.carmaker())):
        response = client.post(f"/api/till/orders/{order.number}/receipts", headers=caller.headers, json=body)
        assert response.status_code == 404, (caller.email, response.text)
    assert client.get(f"/api/till/orders/{order.number}", headers=elsewhere.headers).status_code == 404
    assert client.post(f"/api/dealer/orders/{order.number}/handover", headers=rep.headers).status_code == 409

    cashier = make.staff(dealer, Role.DEALER_CASHIER)
    recorded = client.post(f"/api/till/orders/{order.number}/receipts", headers=cashier.headers, json=body)
    again = client.post(f"/api/till/orders/{order.number}/receipts", headers=cashier.headers, json=body)
    assert recorded.status_code == again.status_code == 201 and recorded.json() == again.json()
    till_view = client.get(f"/api/till/orders/{order.number}", headers=cashier.headers).json()
    assert (till_view["payment_state"], till_view["paid"]) == ("paid_in_full", 42000.0)
    assert "buyer" not in till_view and buyer.email not in str(till_view)
    handed = client.post(f"/api/dealer/orders/{order.number}/handover", headers=rep.headers)
    assert handed.status_code == 200 and handed.json()["status"] == "delivered"


def test_an_invented_renewal_payment_reference_buys_nothing(make, client, session):
    owner = make.customer()
    make.carmaker()
    vehicle = make.vehicle(owner=owner)
    make.on_call(vehicle, sold_on=date.today() - timedelta(days=4 * 365))  # the included years ran out
    me = make.customer_login(owner)
    before = client.get("/api/me/on-call", headers=me.headers).json()[0]["status"]
    assert before["state"] == "expired"
    forged = client.post(f"/api/me/on-call/{vehicle.vin}/renewals", headers=me.headers,
                         json={"years": 1, "payment_reference": "TEST-I-PAID-REALLY"})
    assert forged.status_code == 422
    asked = client.post(f"/api/me/on-call/{vehicle.vin}/renewals", headers=me.headers, json={"years": 1})
    assert asked.status_code == 201 and asked.json()["subscription"]["in_force"] is False
    payment = asked.json()["payment"]
    assert payment["provider"] == "manual" and payment["reference"] in payment["instructions"]
    assert client.get("/api/me/on-call", headers=me.headers).json()[0]["status"]["state"] == "expired"
    # the carmaker records the transfer quoting that reference: now it counts
    admin = make.staff(make.carmaker())
    received = client.post(f"/api/admin/payments/{payment['reference']}/receipts", headers=admin.headers,
                           json={"amount": str(payment["amount"]), "method": "transfer", "key": "bank-line-0001"})
    assert received.status_code == 201, received.text
    assert client.get("/api/me/on-call", headers=me.headers).json()[0]["status"]["state"] == "active"
    # a dealer's cashier is not the carmaker's: the payment does not exist for them
    cashier = make.staff(make.dealer(), Role.DEALER_CASHIER)
    assert client.post(f"/api/admin/payments/{payment['reference']}/refunds", headers=cashier.headers,
                       json={"amount": "1.00", "key": "refund-0000001"}).status_code == 404
    # refunded: the period stops counting
    refunded = client.post(f"/api/admin/payments/{payment['reference']}/refunds", headers=admin.headers,
                           json={"amount": str(payment["amount"]), "key": "refund-0000001", "reason": "goodwill"})
    assert refunded.status_code == 201, refunded.text
    assert client.get("/api/me/on-call", headers=me.headers).json()[0]["status"]["state"] == "expired"
