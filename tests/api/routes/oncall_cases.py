"""Access-control classes of the On Call cases routes (see tests/api/test_access_control.py).

The cases are for call-centre agents only (AGENT): everybody else gets 404. A path naming a case
("{number}") names one opened for customer A's car, once per test before the suite's snapshot.
Reading the customer inside a case under vital interest is checked in tests/assist/test_cases.py.
The eCall endpoint is a car's, authenticated by its device secret like the telemetry endpoint (AUTH).
"""

from __future__ import annotations

from forecourt.assist import intake
from tests.api.acl_rules import AGENT, AUTH, Rule


def case_of_a(w) -> dict:
    """An open SOS case of customer A's car (the same one for every call of a test)."""
    if not hasattr(w, "_case_of_a"):
        w._case_of_a = intake.raise_alert(session=w.session, vehicle_id=w.vehicle.id, kind="sos", source="mqtt",
                                          latitude=52.5, longitude=13.4)
        w.session.commit()
    return {"number": w._case_of_a.number}


def acknowledged_case_of_a(w) -> dict:
    """Acknowledged by another agent first, so resolving it is the next step."""
    from forecourt.assist import cases
    from forecourt.core.auth import Principal, Role

    values = case_of_a(w)
    if w._case_of_a.status == "open":
        cases.acknowledge(session=w.session, case_id=w._case_of_a.id,
                          principal=Principal(user_id=w.agent.user_id, role=Role.CALL_CENTRE_AGENT,
                                              display_name="Agent", organization_id=w.agent.organization_id))
        w.session.commit()
    return values


def resolved_case_of_a(w) -> dict:
    from forecourt.assist import cases
    from forecourt.core.auth import Principal, Role

    values = acknowledged_case_of_a(w)
    if w._case_of_a.status == "acknowledged":
        cases.resolve(session=w.session, case_id=w._case_of_a.id, resolution="driver_ok",
                      principal=Principal(user_id=w.agent.user_id, role=Role.CALL_CENTRE_AGENT,
                                          display_name="Agent", organization_id=w.agent.organization_id))
        w.session.commit()
    return values


ROUTES: dict = {
    ("GET", "/api/cases"): Rule(AGENT),
    ("GET", "/api/cases/{number}"): Rule(AGENT, params=case_of_a),
    ("POST", "/api/cases/{number}/acknowledge"): Rule(AGENT, params=case_of_a),
    ("POST", "/api/cases/{number}/notes"): Rule(AGENT, params=case_of_a, json=lambda w: {"text": "Driver called"},
                                                ok=(201,)),
    ("POST", "/api/cases/{number}/resolve"): Rule(AGENT, params=acknowledged_case_of_a,
                                                  json=lambda w: {"resolution": "driver_ok"}),
    ("POST", "/api/cases/{number}/close"): Rule(AGENT, params=resolved_case_of_a),
    ("POST", "/api/assist/ecall/{vin}"): Rule(AUTH, json=lambda w: {"position": {"latitude": 52.5,
                                                                                 "longitude": 13.4}},
                                              anonymous=(401,)),
}
