"""Online orders through the JSON API and the pages; the sales section of the customer 360."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.sales.models import Activity, Opportunity, Order
from tests.factories import browser_for, csrf_token_of, fast_password_hashing  # noqa: F401  (autouse fixture)
from tests.sales.orders_scene import WEEK, configuration, next_day, order_in_state


def _scene(make):
    dealer = make.dealer(name="Autohaus Süd", opening_hours=WEEK, street="Hafenstraße 3", postcode="20457",
                         city="Hamburg", latitude=53.54, longitude=9.99)
    far = make.dealer(name="Autohaus Fern", opening_hours=WEEK, city="München", latitude=48.14, longitude=11.58)
    buyer = make.customer(city="Hamburg")
    return dealer, far, buyer, make.customer_login(buyer), make.staff(dealer)


def test_the_api_from_order_to_hand_over(make, client, session):
    dealer, _, buyer, me, rep = _scene(make)
    code = configuration(make).code
    refused = client.post("/api/me/orders", headers=me.headers,
                          json={"configuration_code": code, "dealer_id": dealer.id})
    assert refused.status_code == 422 and "Allow Autohaus Süd to contact me" in refused.text
    placed = client.post("/api/me/orders", headers=me.headers,
                         json={"configuration_code": code, "dealer_id": dealer.id, "allow_contact": True})
    assert placed.status_code == 201, placed.text
    number = placed.json()["number"]
    assert placed.json()["payment_state"] == "awaiting_deposit" and placed.json()["deposit"] == 4200.0
    assert [o["number"] for o in client.get("/api/me/orders", headers=me.headers).json()] == [number]

    asked = client.post(f"/api/me/orders/{number}/payments", headers=me.headers, json={"kind": "deposit"})
    assert asked.status_code == 200 and asked.json()["status"] == "pay_at_dealer" and asked.json()["amount"] == 4200.0
    assert client.get(f"/api/me/orders/{number}", headers=me.headers).json()["paid"] == 0.0
    cashier = make.staff(dealer, Role.DEALER_CASHIER)
    till = f"/api/till/orders/{number}"
    assert [o["number"] for o in client.get("/api/till/orders", headers=cashier.headers).json()] == [number]
    paid = client.post(f"{till}/receipts", headers=cashier.headers,
                       json={"amount": "4200.00", "method": "card_terminal", "key": "slip-777777"})
    assert paid.status_code == 201, paid.text
    mine = client.get(f"/api/me/orders/{number}", headers=me.headers).json()
    assert mine["paid"] == 4200.0 and [p["kind"] for p in mine["payments"]] == ["receipt"]

    base = f"/api/dealer/orders/{number}"
    assert client.post(f"{base}/confirm", headers=rep.headers).json()["status"] == "confirmed"
    bad = client.post(f"{base}/vehicle", headers=rep.headers, json={"vin": "WFC1A2B30RA12345X"})
    assert bad.status_code == 422 and "VIN" in bad.json()["detail"][0]["msg"]
    vin = make.vin()
    assert client.post(f"{base}/vehicle", headers=rep.headers, json={"vin": vin}).json()["vin"] == vin
    sunday = next_day(6, 10).replace(tzinfo=None).isoformat()
    closed = client.post(f"{base}/delivery", headers=rep.headers, json={"at": sunday})
    assert closed.status_code == 422 and "closed on Sunday" in closed.text
    early = client.post(f"{base}/handover", headers=rep.headers)
    assert early.status_code == 409 and "still to pay" in early.text
    body = client.post(f"{base}/delivery", headers=rep.headers, json={"at": next_day(1, 11).isoformat()}).json()
    assert body["status"] == "delivery_scheduled" and body["buyer"]["email"] == buyer.email
    assert client.post(f"{till}/receipts", headers=cashier.headers,
                       json={"amount": "37800.00", "method": "transfer", "key": "transfer-888888"}).status_code == 201
    handed = client.post(f"{base}/handover", headers=rep.headers).json()
    assert handed["status"] == "delivered" and handed["commission"] == 1260.0  # the network default, 3 %
    assert "network default" in handed["commission_rule"]
    cars = client.get("/api/me/vehicles", headers=me.headers).json()
    assert [c["vehicle"]["vin"] for c in cars] == [vin]
    assert [o["number"] for o in client.get("/api/dealer/orders", headers=rep.headers).json()] == []
    listed = client.get("/api/dealer/orders?include_closed=true", headers=rep.headers).json()
    assert [o["number"] for o in listed] == [number] and "buyer" not in listed[0]


def test_another_customer_and_another_dealer_get_404(make, client, session):
    dealer, far, buyer, me, rep = _scene(make)
    order = order_in_state(make, buyer, dealer, "placed")
    make.grant(buyer, dealer, "sales_contact")
    make.grant(buyer, far, "sales_contact")
    stranger = make.customer_login(make.customer())
    other_rep = make.staff(far)
    assert client.get(f"/api/me/orders/{order.number}", headers=me.headers).status_code == 200
    assert client.get(f"/api/me/orders/{order.number}", headers=stranger.headers).status_code == 404
    assert client.post(f"/api/me/orders/{order.number}/payments", headers=stranger.headers,
                       json={"kind": "deposit"}).status_code == 404
    assert client.get(f"/api/till/orders/{order.number}",
                      headers=make.staff(far, Role.DEALER_CASHIER).headers).status_code == 404
    assert client.get(f"/api/dealer/orders/{order.number}", headers=rep.headers).status_code == 200
    for path in ("", "/confirm", "/cancel", "/handover"):
        method = client.get if not path else client.post
        assert method(f"/api/dealer/orders/{order.number}{path}", headers=other_rep.headers).status_code == 404
    assert client.get("/api/dealer/orders", headers=other_rep.headers).json() == []
    browser = browser_for(make, stranger)
    assert browser.get(f"/me/orders/{order.number}").status_code == 404


def test_the_order_pages(make, client, session):
    dealer, far, buyer, me, rep = _scene(make)
    code = configuration(make).code
    anonymous = browser_for(make)
    response = anonymous.get(f"/c/{code}/order", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next=/c/{code}/order"

    browser = browser_for(make, me)
    assert "No orders yet" in browser.get("/me/orders").text
    page = browser.get(f"/c/{code}/order")
    assert page.status_code == 200
    # nearest first: the buyer lives in Hamburg, where Autohaus Süd is
    assert page.text.index("Autohaus Süd") < page.text.index("Autohaus Fern")
    assert "Allow <strong id=\"contact-dealer\">Autohaus Süd</strong> to contact me about this order" in page.text
    assert "€4,200.00" in page.text and "/static/js/dealer-map.js" in page.text
    token = csrf_token_of(session, browser)
    missing = browser.post(f"/c/{code}/order", data={"csrf_token": token, "dealer_id": str(dealer.id)})
    assert missing.status_code == 422 and "needs to reach you" in missing.text
    placed = browser.post(f"/c/{code}/order", data={"csrf_token": token, "dealer_id": str(dealer.id),
                                                      "allow_contact": "yes"}, follow_redirects=False)
    assert placed.status_code == 303
    number = re.match(r"/me/orders/(FO-[0-9A-Z-]+)\?", placed.headers["location"]).group(1)
    page = browser.get(f"/me/orders/{number}")
    assert "Pay the deposit of €4,200.00" in page.text and "Pay at Autohaus Süd" in page.text
    cashier = browser_for(make, make.staff(dealer, Role.DEALER_CASHIER))
    assert number in cashier.get("/till").text
    till_page = cashier.get(f"/till/orders/{number}")
    assert buyer.email not in till_page.text and "Record receipt" in till_page.text
    key = re.search(r'name="key" value="([^"]+)"', till_page.text).group(1)
    cashier_token = csrf_token_of(session, cashier)
    for _ in range(2):  # a double click records once
        cashier.post(f"/till/orders/{number}/receipts", data={"csrf_token": cashier_token, "key": key,
                                                               "amount": "4200.00", "method": "cash"})
    page = browser.get(f"/me/orders/{number}")
    assert "The balance of €37,800.00 is due" in page.text and page.text.count("Received €4,200.00") == 1
    assert "Hafenstraße 3" in page.text

    desk = browser_for(make, rep)
    listing = desk.get("/workspace/orders")
    assert number in listing.text and buyer.email not in listing.text
    desk_token = csrf_token_of(session, desk)
    assert desk.post(f"/workspace/orders/{number}/confirm", data={"csrf_token": desk_token}).status_code == 200
    vin = make.vin()
    desk.post(f"/workspace/orders/{number}/vehicle", data={"csrf_token": desk_token, "vin": vin})
    sunday = next_day(6, 10)
    refused = desk.post(f"/workspace/orders/{number}/delivery",
                        data={"csrf_token": desk_token, "date": sunday.date().isoformat(), "time": "10:00"})
    assert "closed on Sunday" in refused.text
    tuesday = next_day(1, 10)
    desk.post(f"/workspace/orders/{number}/delivery",
              data={"csrf_token": desk_token, "date": tuesday.date().isoformat(), "time": "10:00"})
    early = desk.post(f"/workspace/orders/{number}/handover", data={"csrf_token": desk_token})
    assert "still to pay" in early.text
    order_page = desk.get(f"/workspace/orders/{number}")
    assert buyer.email in order_page.text and vin in order_page.text and "Delivery scheduled" in order_page.text
    assert browser.get(f"/me/orders/{number}").text.count(tuesday.strftime("%A %d %B %Y, 10:00")) == 1
    assert "No deliveries to prepare" in browser_for(make, make.staff(far)).get("/workspace/orders").text


def test_the_360_shows_sales_under_sales_contact_only(make, client, session):
    dealer, far, buyer, me, rep = _scene(make)
    mine = configuration(make, buyer)
    order = order_in_state(make, buyer, dealer, "deposit_paid")
    order_in_state(make, buyer, far, "placed")  # another dealer's order: not shown here
    session.add(Activity(dealer_id=dealer.id, customer_id=buyer.id, kind="test_drive", notes="Loved the range"))
    session.add(Activity(dealer_id=far.id, customer_id=buyer.id, kind="visit", notes="Elsewhere"))
    session.add(Opportunity(dealer_id=dealer.id, customer_id=buyer.id, title="Aurora for the family",
                            stage_code="qualified", amount=42000))
    bought = make.vehicle(owner=buyer, dealer=dealer)
    session.commit()

    make.grant(buyer, dealer, "marketing_offers")  # covers contact and cars, not sales
    body = client.get(f"/api/customers/{buyer.id}?purpose=marketing_offers", headers=rep.headers).json()
    assert body["sales"] is None and "sales_history" not in body["categories"]
    assert "Loved the range" not in client.get(f"/workspace/customers/{buyer.id}?purpose=marketing_offers",
                                               headers=rep.headers).text

    make.grant(buyer, dealer, "sales_contact")
    sales = client.get(f"/api/customers/{buyer.id}?purpose=sales_contact", headers=rep.headers).json()["sales"]
    assert mine.code[:4] in [c["code"][:4] for c in sales["configurations"]]
    assert [(a["kind"], a["notes"]) for a in sales["test_drives_and_visits"]] == [("test_drive", "Loved the range")]
    assert [o["title"] for o in sales["opportunities"]] == ["Aurora for the family"]
    assert [o["number"] for o in sales["orders"]] == [order.number]
    assert [p["vin"] for p in sales["purchases"]] == [bought.vin]
    page = browser_for(make, rep).get(f"/workspace/customers/{buyer.id}?purpose=sales_contact")
    assert page.status_code == 200 and "Loved the range" in page.text and order.number in page.text
    assert "Elsewhere" not in page.text

    before = session.scalar(select(func.count(AccessLogEntry.id)).where(AccessLogEntry.customer_id == buyer.id))
    make.withdraw(buyer, dealer, "sales_contact")
    assert client.get(f"/api/customers/{buyer.id}?purpose=sales_contact", headers=rep.headers).status_code == 404
    assert client.get(f"/api/dealer/orders/{order.number}", headers=rep.headers).status_code == 404
    after = session.scalar(select(func.count(AccessLogEntry.id)).where(AccessLogEntry.customer_id == buyer.id))
    assert after == before
    assert session.get(Order, order.id).customer_id == buyer.id  # the order itself is untouched


def test_a_mistyped_code_on_the_order_page_is_explained_on_a_page(make, client):
    from tests.factories import browser_for

    customer = make.customer()
    browser = browser_for(make, make.customer_login(customer))
    response = browser.get("/c/7KQ2-M9XB/order")
    assert response.status_code in (404, 422)
    assert response.headers["content-type"].startswith("text/html")
    assert "code" in response.text.lower()


def test_a_korean_cashier_takes_won_at_the_till_in_korean(make, session):
    """A Seoul dealer's order is in won: the till shows ₩ amounts, asks for whole won and says so in Korean."""
    from forecourt.parties.models import User

    dealer = make.dealer(name="한빛모터스 강남", market="KR", street="강남구 도산대로 318", postcode="06054",
                         city="서울특별시", phone="02-3445-2688")
    order = order_in_state(make, make.customer(), dealer, "placed", total=58_900_000)
    order.currency, order.deposit = "KRW", 5_890_000
    login = make.staff(dealer, Role.DEALER_CASHIER)
    session.get(User, login.user_id).language = "ko"
    session.commit()
    cashier = browser_for(make, login)
    assert "₩58,900,000" in cashier.get("/till").text
    page = cashier.get(f"/till/orders/{order.number}").text
    assert '<html lang="ko">' in page and "₩58,900,000" in page and "₩5,890,000" in page and "€" not in page
    field = re.search(r'<input[^>]*name="amount"[^>]*>', page).group(0)
    assert 'value="5890000"' in field and 'step="1"' in field, field
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    done = cashier.post(f"/till/orders/{order.number}/receipts", follow_redirects=False, data={
        "csrf_token": csrf_token_of(session, cashier), "key": key, "amount": "5890000", "method": "cash"})
    assert done.status_code == 303 and "flash=" in done.headers["location"]
    assert "구매자" in cashier.get(done.headers["location"]).text  # "Receipt recorded; the buyer sees…" in Korean
