"""Access-control classes of the On Call owner pages (see tests/api/test_access_control.py).

``/me/on-call`` and its actions are SELF; ``{vin}`` is customer A's car. The phone-app action on a car
without a phone comes back to the page with the reason (303), which is still the owner's answer.
"""

from __future__ import annotations

from tests.api.acl_rules import SELF, Rule


def _payment(w) -> dict:
    w.make.carmaker()  # the renewal is paid to the carmaker: without one, there is nobody to pay
    return {"years": "1", "reference": f"TEST-PAGE-{w.make.n()}"}


ROUTES: dict = {
    ("GET", "/me/on-call"): Rule(SELF),
    ("POST", "/me/on-call/{vin}/renew"): Rule(SELF, form=_payment, ok=(303,)),
    ("POST", "/me/on-call/{vin}/phone-app"): Rule(SELF, form=_payment, ok=(303,)),
}
