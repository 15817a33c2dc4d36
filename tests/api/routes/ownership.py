"""Access-control classes of the ownership routes (see tests/api/test_access_control.py).

Selling one's car, cancelling the sale and buying a car with a seller's code are the customer's own
(SELF); taking a car in trade is a dealer's sales team's (DEALER); correcting an owner and seeing who
may read for which purpose are the carmaker's (ADMIN). Who may actually move which car is checked in
tests/vehicles/test_ownership.py.
"""

from __future__ import annotations

from forecourt.sales import transfers
from tests.api.acl_rules import ADMIN, DEALER, SELF, Rule


def _a_sale(w) -> dict:
    """Customer A's own sale of their car, waiting for a buyer (one per test)."""
    if not hasattr(w, "_ownership_sale"):
        w.me  # noqa: B018 - A owns the car and has a login
        w._ownership_sale, _ = transfers.start_sale(session=w.session, customer_id=w.customer.id, vin=w.vehicle.vin)
        w.session.commit()
    return {"transfer_id": w._ownership_sale.id}


def _someone_elses_code(w) -> dict:
    """A fresh code for a third driver's car, for each call: accepting it touches nobody the suite watches."""
    seller = w.make.customer()
    car = w.make.vehicle(owner=seller)
    _, code = transfers.start_sale(session=w.session, customer_id=seller.id, vin=car.vin)
    w.session.commit()
    return {"code": code}


ROUTES: dict = {
    ("POST", "/api/me/vehicles/{vin}/sale"): Rule(SELF, ok=(201,)),
    ("GET", "/api/me/sales"): Rule(SELF),
    ("DELETE", "/api/me/sales/{transfer_id}"): Rule(SELF, params=_a_sale, ok=(204,)),
    ("POST", "/api/me/purchases"): Rule(SELF, json=_someone_elses_code, ok=(201,)),
    ("POST", "/me/vehicles/{vin}/sale"): Rule(SELF),
    ("POST", "/me/sales/{transfer_id}/cancel"): Rule(SELF, params=_a_sale, ok=(303,)),
    ("GET", "/me/purchase"): Rule(SELF),
    ("POST", "/me/purchase"): Rule(SELF, form=_someone_elses_code),
    ("POST", "/api/dealer/trade-ins"): Rule(DEALER, json=_someone_elses_code, ok=(201,)),
    ("GET", "/workspace/trade-ins"): Rule(DEALER),
    ("POST", "/workspace/trade-ins"): Rule(DEALER, form=_someone_elses_code),
    ("POST", "/api/admin/vehicles/{vin}/ownership"): Rule(
        ADMIN, json=lambda w: {"customer_id": w.other.id, "reason": "Registered to the wrong customer at import"}),
    ("GET", "/admin/purposes"): Rule(ADMIN),
}
