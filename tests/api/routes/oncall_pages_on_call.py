"""Access-control classes of the On Call owner pages (see tests/api/test_access_control.py).

``/me/on-call`` and its actions are SELF; ``{vin}`` is customer A's car. The phone-app action on a car
without a phone comes back to the page with the reason (303), which is still the owner's answer.
"""

from __future__ import annotations

from tests.api.acl_rules import SELF, Rule


def _payment(w) -> dict:
    w.make.carmaker()  # the renewal is paid to the carmaker: without one, there is nobody to pay
    return {"years": "1", "reference": f"TEST-PAGE-{w.make.n()}"}


def _case_of_a(w) -> dict:
    """An SOS customer A pressed (once: every preparation names the same case), which the help page and
    the API follow."""
    from sqlalchemy import select

    from forecourt.assist import sos
    from forecourt.assist.models import Case
    from forecourt.core.auth import Principal, Role

    number = w.session.scalar(select(Case.number).where(Case.vehicle_id == w.vehicle.id, Case.kind == "sos"))
    if number is None:
        me = Principal(user_id=w.me.user_id, role=Role.CUSTOMER, display_name="A", customer_id=w.customer.id)
        number = sos.call_for_help(session=w.session, principal=me, vin=w.vehicle.vin).number
        w.session.commit()
    return {"number": number}


ROUTES: dict = {
    ("GET", "/me/on-call"): Rule(SELF),
    ("POST", "/me/on-call/{vin}/renew"): Rule(SELF, form=_payment, ok=(303,)),
    ("POST", "/me/on-call/{vin}/phone-app"): Rule(SELF, form=_payment, ok=(303,)),
    ("POST", "/me/on-call/{vin}/sos"): Rule(SELF, form=lambda w: {"latitude": "52.52", "longitude": "13.40",
                                                                   "accuracy": "25"}, ok=(303,)),
    ("GET", "/me/on-call/help/{number}"): Rule(SELF, params=_case_of_a),
}
