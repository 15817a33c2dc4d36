"""Access-control classes of the orders routes (see tests/api/test_access_control.py).

The buyer's routes are SELF. A path naming an order ("{number}") names one of customer A's orders, made
once per test before the suite's snapshot: staff, anonymous callers and customer B get nothing, A reaches it.

The dealer's order routes read the buyer through the consent door: CUSTOMER_DATA under sales_contact,
dealer staff only; their orders are written without a grant, so "no grant → 404" is really checked.
"""

from __future__ import annotations

from tests.api.acl_rules import CUSTOMER_DATA, DEALER, SELF, Rule
from tests.sales.orders_scene import configuration, next_day, order_in_state


def _of_a(w) -> dict:
    """One order of customer A, awaiting its deposit (the same one for every call of a test)."""
    if not hasattr(w, "_order_of_a"):
        w._order_of_a = order_in_state(w.make, w.customer, w.dealer, "placed")
    return {"number": w._order_of_a.number}


def _at(state: str):
    return lambda w: {"number": order_in_state(w.make, w.customer, w.dealer, state).number}


def _code(w) -> dict:
    """A configuration saved without an account (whoever holds the code may order it)."""
    if not hasattr(w, "_configuration"):
        w._configuration = configuration(w.make)
    return {"code": w._configuration.code}


def _order_json(w) -> dict:
    return {"configuration_code": _code(w)["code"], "dealer_id": w.dealer.id, "allow_contact": True}


def _order_form(w) -> dict:
    return {"dealer_id": str(w.dealer.id), "allow_contact": "yes"}


def _dealer(**kwargs) -> Rule:
    return Rule(CUSTOMER_DATA, purpose="sales_contact", reads_purpose=False, dealers_only=True, **kwargs)


ROUTES: dict = {
    # the buyer
    ("POST", "/api/me/orders"): Rule(SELF, json=_order_json, ok=(201,)),
    ("GET", "/api/me/orders"): Rule(SELF),
    ("GET", "/api/me/orders/{number}"): Rule(SELF, params=_of_a),
    # asks how to pay what is due; records nothing (money counts only from the till or a signed webhook)
    ("POST", "/api/me/orders/{number}/payments"): Rule(SELF, params=_of_a, json=lambda w: {"kind": "deposit"}),
    ("GET", "/c/{code}/order"): Rule(SELF, params=_code),
    ("POST", "/c/{code}/order"): Rule(SELF, params=_code, form=_order_form, ok=(303,)),
    ("GET", "/me/orders"): Rule(SELF),
    ("GET", "/me/orders/{number}"): Rule(SELF, params=_of_a),
    ("POST", "/me/orders/{number}/payments"): Rule(SELF, params=_of_a, form=lambda w: {"kind": "deposit"},
                                                    ok=(303,)),
    # the delivering dealer: the list names no buyer; an order opens the buyer's data
    ("GET", "/api/dealer/orders"): Rule(DEALER),
    ("GET", "/workspace/orders"): Rule(DEALER),
    ("GET", "/api/dealer/orders/{number}"): _dealer(params=_at("placed")),
    ("POST", "/api/dealer/orders/{number}/confirm"): _dealer(params=_at("deposit_paid")),
    ("POST", "/api/dealer/orders/{number}/vehicle"): _dealer(params=_at("confirmed"),
                                                            json=lambda w: {"vin": w.make.vin()}),
    ("POST", "/api/dealer/orders/{number}/delivery"): _dealer(
        params=_at("assigned"), json=lambda w: {"at": next_day(0, 10).isoformat()}),
    ("POST", "/api/dealer/orders/{number}/handover"): _dealer(params=_at("paid")),
    ("POST", "/api/dealer/orders/{number}/cancel"): _dealer(params=_at("deposit_paid")),
    ("GET", "/workspace/orders/{number}"): _dealer(params=_at("placed")),
    ("POST", "/workspace/orders/{number}/confirm"): _dealer(params=_at("deposit_paid"), ok=(303,)),
    ("POST", "/workspace/orders/{number}/vehicle"): _dealer(params=_at("confirmed"),
                                                           form=lambda w: {"vin": w.make.vin()}, ok=(303,)),
    ("POST", "/workspace/orders/{number}/delivery"): _dealer(
        params=_at("assigned"), form=lambda w: {"date": next_day(0, 10).date().isoformat(), "time": "10:00"},
        ok=(303,)),
    ("POST", "/workspace/orders/{number}/handover"): _dealer(params=_at("paid"), ok=(303,)),
    ("POST", "/workspace/orders/{number}/cancel"): _dealer(params=_at("deposit_paid"), ok=(303,)),
}
