"""Access-control classes of the On Call subscriptions routes (see tests/api/test_access_control.py).

The owner's routes are SELF: ``{vin}`` is customer A's car, so customer B, staff and anonymous callers
get nothing, and A asks to renew it (a payment to the carmaker, counted once the money arrives).
"""

from __future__ import annotations

from tests.api.acl_rules import SELF, Rule
from tests.api.routes.oncall_pages_on_call import _case_of_a

ROUTES: dict = {
    ("GET", "/api/me/on-call"): Rule(SELF),
    ("POST", "/api/me/on-call/{vin}/renewals"): Rule(
        SELF, params=lambda w: {"payee": w.make.carmaker().id}, json=lambda w: {"years": 1}, ok=(201,)),
    ("POST", "/api/me/vehicles/{vin}/sos"): Rule(
        SELF, json=lambda w: {"latitude": 52.52, "longitude": 13.40, "accuracy_m": 25}, ok=(201,)),
    ("GET", "/api/me/on-call/cases/{number}"): Rule(SELF, params=_case_of_a),
}
