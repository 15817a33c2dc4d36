"""Access-control classes of the On Call dispatch routes (see tests/api/test_access_control.py).

Finding and sending help is for call-centre agents only (AGENT): a case of customer A's car near
Berlin, made once per test, with a towing partner nearby. The incoming-car routes are the receiving
dealer's (DEALER): a tow to dealer A, dispatched once per test.
"""

from __future__ import annotations

from forecourt.assist.models import Case, Dispatch
from forecourt.core.clock import now
from tests.api.acl_rules import AGENT, DEALER, Rule


def case_of_a(w) -> Case:
    """An open crash case of customer A's car in Berlin (the same one for every call of a test)."""
    if not hasattr(w, "_dispatch_case"):
        w._dispatch_case = Case(number=f"OC-D{w.make.n():05d}", vehicle_id=w.vehicle.id, customer_id=w.customer.id,
                                kind="crash", priority=1, source="http", latitude=52.52, longitude=13.40,
                                opened_at=now(), last_alert_at=now())
        w.session.add(w._dispatch_case)
        w.session.commit()
    return w._dispatch_case


def tow_partner(w):
    if not hasattr(w, "_tow_partner"):
        w._tow_partner = w.make.partner("roadside", latitude=52.50, longitude=13.35)
        w.session.commit()
    return w._tow_partner


def case_number(w) -> dict:
    return {"number": case_of_a(w).number}


def dispatch_to_a(w) -> dict:
    """A tow on its way to dealer A (made directly: the route under test is the dealer's)."""
    if not hasattr(w, "_incoming"):
        case = case_of_a(w)
        w._incoming = Dispatch(case_id=case.id, provider_id=tow_partner(w).id, kind="tow", distance_km=5.0,
                               eta_minutes=15, destination_dealer_id=w.dealer.id, dispatched_at=now())
        w.session.add(w._incoming)
        w.session.commit()
    return {"dispatch_id": w._incoming.id}


ROUTES: dict = {
    ("GET", "/api/cases/{number}/providers"): Rule(AGENT, params=case_number),
    ("POST", "/api/cases/{number}/dispatches"): Rule(
        AGENT, params=case_number, json=lambda w: {"provider_id": tow_partner(w).id, "kind": "tow"}, ok=(201,)),
    ("GET", "/api/dealer/incoming"): Rule(DEALER),
    ("POST", "/api/dealer/incoming/{dispatch_id}/arrived"): Rule(DEALER, params=dispatch_to_a),
}
