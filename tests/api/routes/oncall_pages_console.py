"""Access-control classes of the On Call console pages (see tests/api/test_access_control.py).

The console and its case pages are for the carmaker's call-centre agents only (AGENT: everybody else
404). ``{number}`` names an SOS case of customer A's car, opened once per test before the checks;
the actions answer 303 (done, or back to the case with the reason). The stream is asked to end after
a moment (``seconds``), as a browser's EventSource would reconnect. The owner's emergency contacts
page is their own (SELF).
"""

from __future__ import annotations

from tests.api.acl_rules import AGENT, SELF, Rule


def case_of_a(w) -> dict:
    """An SOS case of customer A's car near Hamburg (the same one for every call of a test)."""
    if not hasattr(w, "_case_of_a"):
        from forecourt.assist import intake

        w._case_of_a = intake.raise_alert(session=w.session, vehicle_id=w.vehicle.id, kind="sos", source="http",
                                          latitude=53.55, longitude=9.99)
        w.session.commit()
    return {"number": w._case_of_a.number}


def _tow(w) -> dict:
    if not hasattr(w, "_tow_partner"):
        w._tow_partner = w.make.partner("roadside", latitude=53.56, longitude=10.0)
        w.session.commit()
    return {"provider_id": str(w._tow_partner.id), "kind": "tow"}


def _contacts(w) -> dict:
    return {"contact_name": "Eva Nachbar", "contact_phone": "+49 40 1234567", "contact_relation": "neighbour"}


ROUTES: dict = {
    ("GET", "/console"): Rule(AGENT),
    ("GET", "/console/queue"): Rule(AGENT),
    ("GET", "/console/stream"): Rule(AGENT, query=lambda w: {"seconds": 0.3}),
    ("GET", "/console/cases/{number}"): Rule(AGENT, params=case_of_a),
    ("POST", "/console/cases/{number}/acknowledge"): Rule(AGENT, params=case_of_a, ok=(303,)),
    ("POST", "/console/cases/{number}/dispatch"): Rule(AGENT, params=case_of_a, form=_tow, ok=(303,)),
    ("POST", "/console/cases/{number}/notes"): Rule(AGENT, params=case_of_a, form=lambda w: {"text": "Called"},
                                                   ok=(303,)),
    ("POST", "/console/cases/{number}/resolve"): Rule(AGENT, params=case_of_a,
                                                     form=lambda w: {"resolution": "false_alarm"}, ok=(303,)),
    ("POST", "/console/cases/{number}/close"): Rule(AGENT, params=case_of_a, ok=(303,)),
    ("GET", "/me/on-call/contacts"): Rule(SELF),
    ("POST", "/me/on-call/contacts"): Rule(SELF, form=_contacts, ok=(303,)),
}
