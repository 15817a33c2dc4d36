"""The card provider: payment intents through the real ``stripe`` library (against a local stand-in API),
and money counted only from webhooks whose signature verifies — once, however often they arrive."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from forecourt.payments import service as payments_service
from forecourt.payments.models import Payment, PaymentEntry
from forecourt.sales import orders
from forecourt.sales.models import Order
from tests.factories import fast_password_hashing  # noqa: F401  (autouse fixture)
from tests.payments.card_server import event, signed, succeeded
from tests.sales.orders_scene import order_in_state

HOOK = "/api/payments/stripe/webhook"


def _scene(make):
    dealer = make.dealer()
    buyer = make.customer()
    return dealer, buyer, make.customer_login(buyer), make.staff(dealer)


def _state(session, number: str) -> tuple[str, float]:
    session.expire_all()
    order = session.scalars(select(Order).where(Order.number == number)).one()
    money = orders.money_of(session=session, order=order)
    return money["state"], float(money["paid"])


def _entries(session) -> int:
    return session.scalar(select(func.count(PaymentEntry.id)))


def _start(card, me, number: str, kind: str = "deposit") -> dict:
    response = card.client.post(f"/api/me/orders/{number}/payments", headers=me.headers, json={"kind": kind})
    assert response.status_code == 200, response.text
    return response.json()


def test_paying_by_card_creates_an_intent_and_nothing_is_paid_until_the_provider_says_so(make, session, card):
    dealer, buyer, me, _ = _scene(make)
    order = order_in_state(make, buyer, dealer, "placed")
    asked = _start(card, me, order.number)
    assert asked["provider"] == "stripe" and asked["status"] == "open" and asked["amount"] == 4200.0
    assert asked["client_secret"].startswith("pi_test_") and asked["publishable_key"] == "pk_test_forecourt"
    call = card.server.calls[-1]
    assert call.path == "/v1/payment_intents" and call.headers["Authorization"] == "Bearer sk_test_forecourt_local"
    assert (call.form["amount"], call.form["currency"], call.form["capture_method"]) == ("420000", "eur", "automatic")
    assert call.form["metadata[forecourt_payment]"] == asked["reference"]
    assert call.headers["Idempotency-Key"] == f"forecourt-open-{asked['reference']}"
    again = _start(card, me, order.number)  # a reload asks the provider nothing new
    assert again["reference"] == asked["reference"] and len(card.server.calls) == 1
    assert _state(session, order.number) == ("awaiting_deposit", 0.0)


def test_unsigned_or_wrongly_signed_notifications_change_nothing(make, session, card):
    dealer, buyer, me, _ = _scene(make)
    order = order_in_state(make, buyer, dealer, "placed")
    _start(card, me, order.number)
    intent = next(iter(card.server.intents.values()))
    body = succeeded(intent)
    before = _entries(session)
    attempts = [
        {"content-type": "application/json"},  # no signature at all
        signed(body, secret="whsec_someone_else"),  # signed with another secret
        {"stripe-signature": "t=1,v1=" + "0" * 64},  # made up
        signed(body, at=1_000_000_000),  # a correct signature from 2001: replayed long after
    ]
    for headers in attempts:
        response = card.client.post(HOOK, content=body, headers=headers)
        assert response.status_code == 400, response.text
    tampered = body.replace('"amount_received": 420000', '"amount_received": 4200000')
    assert card.client.post(HOOK, content=tampered, headers=signed(body)).status_code == 400
    assert _entries(session) == before and _state(session, order.number) == ("awaiting_deposit", 0.0)


def test_a_signed_notification_pays_the_intent_once_however_often_it_arrives(make, session, card):
    dealer, buyer, me, rep = _scene(make)
    order = order_in_state(make, buyer, dealer, "placed")
    asked = _start(card, me, order.number)
    intent = next(iter(card.server.intents.values()))
    body = succeeded(intent)
    for _ in range(3):
        response = card.client.post(HOOK, content=body, headers=signed(body))
        assert response.status_code == 200, response.text
    assert _state(session, order.number) == ("deposit_paid", 4200.0)
    receipts = session.scalars(select(PaymentEntry).where(PaymentEntry.kind == "receipt")).all()
    assert [(float(r.amount), r.provider, r.provider_reference) for r in receipts] == [
        (4200.0, "stripe", f"{intent['id']}:received")]
    payment = session.scalars(select(Payment).where(Payment.reference == asked["reference"])).one()
    assert payment.status == "paid" and payment.provider_reference == intent["id"]
    # the same fact in another event (a redelivery with a new event id) still counts once
    again = event("payment_intent.succeeded", intent | {"amount_received": intent["amount"]}, event_id="evt_other")
    assert card.client.post(HOOK, content=again, headers=signed(again)).status_code == 200
    assert _state(session, order.number) == ("deposit_paid", 4200.0)
    # the dealer confirms on the strength of it
    make.grant(buyer, dealer, "sales_contact")
    confirmed = card.client.post(f"/api/dealer/orders/{order.number}/confirm", headers=rep.headers)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"


def test_events_for_payments_that_are_not_ours_are_ignored(make, session, card):
    before = _entries(session)
    body = succeeded({"id": "pi_from_another_shop", "object": "payment_intent", "amount": 999, "currency": "eur"})
    response = card.client.post(HOOK, content=body, headers=signed(body))
    assert response.status_code == 200 and response.json() == {"recorded": 0}
    assert _entries(session) == before
    unrelated = event("customer.created", {"id": "cus_1", "object": "customer"})
    assert card.client.post(HOOK, content=unrelated, headers=signed(unrelated)).json() == {"recorded": 0}


def test_cancelling_refunds_the_card_payment_through_the_provider(make, session, card):
    dealer, buyer, me, rep = _scene(make)
    order = order_in_state(make, buyer, dealer, "placed")
    make.grant(buyer, dealer, "sales_contact")
    _start(card, me, order.number)
    intent = next(iter(card.server.intents.values()))
    body = succeeded(intent)
    card.client.post(HOOK, content=body, headers=signed(body))
    cancelled = card.client.post(f"/api/dealer/orders/{order.number}/cancel", headers=rep.headers)
    assert cancelled.status_code == 200 and cancelled.json()["payment_state"] == "refunded", cancelled.text
    refund_call = card.server.calls[-1]
    assert refund_call.path == "/v1/refunds"
    assert (refund_call.form["payment_intent"], refund_call.form["amount"]) == (intent["id"], "420000")
    assert refund_call.headers["Idempotency-Key"].startswith(f"cancel-{order.number}:")
    assert _state(session, order.number) == ("refunded", 0.0)
    # the provider's own notification of that refund changes nothing more
    refund = {"id": "re_test_2", "object": "refund", "amount": 420000, "currency": "eur",
              "payment_intent": intent["id"], "status": "succeeded"}
    note = event("refund.updated", refund)
    assert card.client.post(HOOK, content=note, headers=signed(note)).status_code == 200
    assert session.scalar(select(func.count(PaymentEntry.id)).where(PaymentEntry.kind == "refund")) == 1
    assert _state(session, order.number) == ("refunded", 0.0)


def test_a_deposit_can_be_held_then_captured_or_released(make, session, card):
    """What car sharing will need: authorise a deposit, keep part of it, or give it back."""
    dealer, buyer, _, rep = _scene(make)
    principal = make.principal(rep)
    held = payments_service.request(session=session, gateway=card.gateway, purpose="sharing_deposit",
                                    subject_kind="reservation", subject_id=1, customer_id=buyer.id,
                                    payee_id=dealer.id, amount=300, capture="manual")
    assert card.server.calls[-1].form["capture_method"] == "manual"
    intent = card.server.intents[held.provider_reference]
    body = event("payment_intent.amount_capturable_updated", intent | {"amount_capturable": 30000})
    assert card.client.post(HOOK, content=body, headers=signed(body)).status_code == 200
    session.expire_all()
    assert held.status == "authorised"
    balance = payments_service.balance_of(session=session, payment=held)
    assert (balance.held, balance.net) == (Decimal("300.00"), Decimal(0))
    payments_service.capture(session=session, gateway=card.gateway, principal=principal, payment_id=held.id,
                             amount=Decimal("120"), key="capture-reservation-1")
    call = card.server.calls[-1]
    assert call.path == f"/v1/payment_intents/{intent['id']}/capture" and call.form["amount_to_capture"] == "12000"
    body = succeeded(intent, amount=12000)
    card.client.post(HOOK, content=body, headers=signed(body))
    session.expire_all()
    assert payments_service.balance_of(session=session, payment=held).net == Decimal("120.00")

    released = payments_service.request(session=session, gateway=card.gateway, purpose="sharing_deposit",
                                        subject_kind="reservation", subject_id=2, customer_id=buyer.id,
                                        payee_id=dealer.id, amount=300, capture="manual")
    other = card.server.intents[released.provider_reference]
    body = event("payment_intent.amount_capturable_updated", other | {"amount_capturable": 30000})
    card.client.post(HOOK, content=body, headers=signed(body))
    session.expire_all()
    payments_service.release(session=session, gateway=card.gateway, principal=principal, payment_id=released.id,
                             key="release-reservation-2")
    assert card.server.calls[-1].path == f"/v1/payment_intents/{other['id']}/cancel"
    body = event("payment_intent.canceled", other | {"status": "canceled"})
    card.client.post(HOOK, content=body, headers=signed(body))
    session.expire_all()
    balance = payments_service.balance_of(session=session, payment=released)
    assert released.status == "cancelled" and (balance.held, balance.net) == (Decimal(0), Decimal(0))


def test_on_call_renewal_by_card_counts_once_the_provider_confirms(make, session, card):
    owner = make.customer()
    vehicle = make.vehicle(owner=owner)
    make.carmaker()
    me = make.customer_login(owner)
    bought = card.client.post(f"/api/me/on-call/{vehicle.vin}/renewals", headers=me.headers, json={"years": 1})
    assert bought.status_code == 201, bought.text
    assert bought.json()["subscription"]["in_force"] is False
    assert bought.json()["payment"]["client_secret"].startswith("pi_test_")
    assert card.client.get("/api/me/on-call", headers=me.headers).json()[0]["status"]["state"] == "none"
    intent = next(iter(card.server.intents.values()))
    body = succeeded(intent)
    assert card.client.post(HOOK, content=body, headers=signed(body)).status_code == 200
    status = card.client.get("/api/me/on-call", headers=me.headers).json()[0]["status"]
    assert status["state"] == "active" and status["plan"] == "renewal"


def test_the_pages_mount_the_card_form_and_the_policy_lets_only_the_provider_in(make, session, card):
    from types import SimpleNamespace

    from tests.factories import browser_for, csrf_token_of

    dealer, buyer, me, _ = _scene(make)
    order = order_in_state(make, buyer, dealer, "placed")
    browser = browser_for(SimpleNamespace(client=card.client, n=make.n), me)
    page = browser.get(f"/me/orders/{order.number}")
    assert "Pay the deposit by card" in page.text and 'id="card-payment"' not in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self' https://js.stripe.com" in policy and "frame-src https://js.stripe.com" in policy
    browser.post(f"/me/orders/{order.number}/payments", data={"csrf_token": csrf_token_of(session, browser),
                                                             "kind": "deposit"})
    page = browser.get(f"/me/orders/{order.number}")
    intent = next(iter(card.server.intents.values()))
    assert f'data-secret="{intent["client_secret"]}"' in page.text and 'data-key="pk_test_forecourt"' in page.text
    assert "/static/js/card-payment.js" in page.text and _state(session, order.number) == ("awaiting_deposit", 0.0)
    plain = make.client.get("/login")  # without a card provider the policy stays closed
    assert "js.stripe.com" not in plain.headers["content-security-policy"]
