"""Access-control classes of the money routes (see tests/api/test_access_control.py).

The till is CASHIER: an order of customer A delivered by dealer A, reached only by dealer A's cashier.
The carmaker's payments desk and the commission rules and statements are ADMIN; what their paths name
is written straight into the tables (no audit row), so the suite sees exactly one audit row per change.
The card provider's webhook is AUTH: its signature is its credential, and without a card provider
configured (as here) it does not exist.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from forecourt.core.clock import now
from forecourt.payments.models import Payment, PaymentEntry
from forecourt.sales.models import CommissionRule
from tests.api.acl_rules import ADMIN, AUTH, CASHIER, Rule
from tests.sales.orders_scene import order_in_state


def _order(state: str):
    def made(w) -> dict:
        key = f"_till_order_{state}"
        if not hasattr(w, key):
            order = order_in_state(w.make, w.customer, w.dealer, "deposit_paid" if state == "cancelled" else state)
            if state == "cancelled":
                order.status = "cancelled"
                w.session.commit()
            setattr(w, key, order)
        return {"number": getattr(w, key).number}
    return made


def _receipt_of_order(w) -> dict:
    values = _order("deposit_paid")(w)
    entry = w.session.query(PaymentEntry).join(Payment).filter(
        Payment.subject_kind == "order", Payment.subject_id == w._till_order_deposit_paid.id).first()
    return values | {"entry_id": entry.id}


def _key(w) -> str:
    return f"acl-key-{w.make.n():06d}"


def _desk_payment(status: str):
    """A payment to the carmaker (an On Call renewal by transfer): open, or paid with its receipt."""
    def made(w) -> dict:
        key = f"_desk_{status}"
        if not hasattr(w, key):
            carmaker = w.make.carmaker()
            payment = Payment(reference=f"PAY-ACL{w.make.n():05d}", provider="manual", purpose="on_call_renewal",
                              subject_kind="subscription", subject_id=0, customer_id=w.customer.id,
                              payee_id=carmaker.id, amount=Decimal("99.00"), status=status, created_at=now(),
                              updated_at=now())
            w.session.add(payment)
            w.session.flush()
            entry = None
            if status == "paid":
                entry = PaymentEntry(payment_id=payment.id, kind="receipt", amount=Decimal("99.00"), provider="manual",
                                     provider_reference=f"acl-transfer-{payment.id}", method="transfer", at=now())
                w.session.add(entry)
            w.session.commit()
            setattr(w, key, (payment, entry))
        payment, entry = getattr(w, key)
        return {"reference": payment.reference} | ({"entry_id": entry.id} if entry else {})
    return made


def _rule(w) -> dict:
    if not hasattr(w, "_commission_rule"):
        rule = CommissionRule(dealer_id=w.dealer.id, model_id=None, percent=Decimal("3"), fixed=Decimal(0),
                              valid_from=date(2024, 1, 1))
        w.session.add(rule)
        w.session.commit()
        w._commission_rule = rule
    return {"rule_id": w._commission_rule.id}


def _statement(w) -> dict:
    return {"dealer_id": w.dealer.id, "month": "2025-06"}


def _receipt_json(w) -> dict:
    return {"amount": "100.00", "method": "cash", "key": _key(w)}


def _refund_json(w) -> dict:
    return {"amount": "1.00", "key": _key(w), "reason": "goodwill"}


ROUTES: dict = {
    # the card provider's notifications
    ("POST", "/api/payments/stripe/webhook"): Rule(AUTH, anonymous=(404,)),
    # a dealer's till
    ("GET", "/api/till/orders"): Rule(CASHIER, params=_order("placed")),
    ("GET", "/api/till/orders/{number}"): Rule(CASHIER, params=_order("placed")),
    ("POST", "/api/till/orders/{number}/receipts"): Rule(CASHIER, params=_order("placed"), json=_receipt_json,
                                                        ok=(201,)),
    ("POST", "/api/till/orders/{number}/receipts/{entry_id}/reversal"): Rule(
        CASHIER, params=_receipt_of_order, json=lambda w: {"reason": "wrong order"}, ok=(201,)),
    ("POST", "/api/till/orders/{number}/refunds"): Rule(CASHIER, params=_order("cancelled"), json=_refund_json,
                                                       ok=(201,)),
    ("GET", "/till"): Rule(CASHIER, params=_order("placed")),
    ("GET", "/till/orders/{number}"): Rule(CASHIER, params=_order("placed")),
    ("POST", "/till/orders/{number}/receipts"): Rule(CASHIER, params=_order("placed"), form=_receipt_json,
                                                    ok=(303,)),
    ("POST", "/till/orders/{number}/receipts/{entry_id}/reversal"): Rule(
        CASHIER, params=_receipt_of_order, form=lambda w: {"reason": "wrong order"}, ok=(303,)),
    ("POST", "/till/orders/{number}/refunds"): Rule(CASHIER, params=_order("cancelled"), form=_refund_json,
                                                   ok=(303,)),
    # the carmaker's payments desk
    ("GET", "/api/admin/payments"): Rule(ADMIN),
    ("POST", "/api/admin/payments/{reference}/receipts"): Rule(
        ADMIN, params=_desk_payment("open"), json=lambda w: {"amount": "99.00", "method": "transfer", "key": _key(w)},
        ok=(201,)),
    ("POST", "/api/admin/payments/{reference}/entries/{entry_id}/reversal"): Rule(
        ADMIN, params=_desk_payment("paid"), json=lambda w: {"reason": "booked twice"}, ok=(201,)),
    ("POST", "/api/admin/payments/{reference}/refunds"): Rule(ADMIN, params=_desk_payment("paid"),
                                                             json=_refund_json, ok=(201,)),
    ("GET", "/admin/payments"): Rule(ADMIN),
    ("POST", "/admin/payments/{reference}/receipts"): Rule(
        ADMIN, params=_desk_payment("open"), form=lambda w: {"amount": "99.00", "method": "transfer", "key": _key(w)},
        ok=(303,)),
    ("POST", "/admin/payments/{reference}/entries/{entry_id}/reversal"): Rule(
        ADMIN, params=_desk_payment("paid"), form=lambda w: {"reason": "booked twice"}, ok=(303,)),
    ("POST", "/admin/payments/{reference}/refunds"): Rule(ADMIN, params=_desk_payment("paid"), form=_refund_json,
                                                         ok=(303,)),
    # commission rules and statements
    ("GET", "/api/admin/commission-rules"): Rule(ADMIN),
    ("POST", "/api/admin/commission-rules"): Rule(ADMIN, json=lambda w: {"dealer_id": w.dealer.id, "percent": "2.5"},
                                                  ok=(201,)),
    ("PATCH", "/api/admin/commission-rules/{rule_id}"): Rule(ADMIN, params=_rule, json=lambda w: {"percent": "3.5"}),
    ("POST", "/api/admin/commission-rules/{rule_id}/retire"): Rule(ADMIN, params=_rule, json=lambda w: {}),
    ("GET", "/api/admin/commission-statements"): Rule(ADMIN, query=lambda w: {"month": "2025-06"}),
    ("GET", "/api/admin/commission-statements/{dealer_id}/{month}.csv"): Rule(ADMIN, params=_statement),
    ("GET", "/api/admin/commission-statements/{dealer_id}/{month}.pdf"): Rule(ADMIN, params=_statement),
    ("GET", "/admin/commission"): Rule(ADMIN),
    ("POST", "/admin/commission/rules"): Rule(ADMIN, form=lambda w: {"dealer_id": str(w.dealer.id), "percent": "2.5",
                                                                    "fixed": "0"}, ok=(303,)),
    ("POST", "/admin/commission/rules/{rule_id}"): Rule(ADMIN, params=_rule, form=lambda w: {"percent": "3.5"},
                                                       ok=(303,)),
    ("POST", "/admin/commission/rules/{rule_id}/retire"): Rule(ADMIN, params=_rule, form=lambda w: {}, ok=(303,)),
}
