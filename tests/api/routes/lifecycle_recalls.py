"""Access-control classes of the recalls routes (see tests/api/test_access_control.py).

Campaigns are the carmaker administrators' (ADMIN): counts and dealers, never an owner; opening and
closing one is audited. A dealer's check-in flags and remedies are about the car only (DEALER), and a
remedy is recorded only by a dealer with a real relationship with the car (dealer A sold customer A's
car; dealer B, holding every consent, is refused: tests/api/test_write_access.py). The owner books the
remedy from their car page or the JSON API (SELF;
another customer's car is 404).
"""

from __future__ import annotations

from datetime import date

from forecourt.core.auth import Principal, Role
from forecourt.vehicles import recalls
from forecourt.workshop import recall_work
from tests.api.acl_rules import ADMIN, DEALER, SELF, Rule


def _campaign_json(w) -> dict:
    return {"code": f"RC-ACL-{w.make.n()}", "title": "Seat belt buckle may not latch", "severity": "high",
            "remedy": "Replace the buckle.", "labour_minutes": 30,
            "scopes": [{"model_code": w.vehicle.trim.model.code}]}


def _campaign_form(w) -> dict:
    values = _campaign_json(w)
    return {"code": values["code"], "title": values["title"], "severity": "high", "remedy": values["remedy"],
            "labour_minutes": "30", "scope0_model_code": w.vehicle.trim.model.code, "action": "open"}


def _campaign(w) -> dict:
    """One campaign covering customer A's car (the same one for every call of a test)."""
    if not hasattr(w, "_recall"):
        admin = Principal(user_id=w.admin.user_id, role=Role.CARMAKER_ADMIN, display_name="Admin",
                          organization_id=w.admin.organization_id)
        w._recall = recalls.open_campaign(session=w.session, principal=admin, code=f"RC-W-{w.make.n()}",
                                          title="Brake hose may chafe", remedy="Fit a new brake hose.",
                                          severity="high", scopes=[{"model_code": w.vehicle.trim.model.code}],
                                          notify=False)["campaign"]
        w.session.commit()
    return {"code": w._recall.code}


def _slot(w) -> dict:
    """The first free slot of dealer A (opening hours and a bay) for customer A's recall remedy."""
    campaign = recalls.get_campaign(session=w.session, code=_campaign(w)["code"])
    dealer = w.dealer
    if not dealer.service_bays:
        dealer.service_bays = 2
        dealer.opening_hours = {day: [["07:00", "19:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        w.session.commit()
    offer = recall_work.remedy_offer(session=w.session, customer_id=w.customer.id, vehicle=w.vehicle,
                                     campaign=campaign)
    slot = offer["slots"][0]
    return {"dealer_id": str(offer["dealer"].id), "bay": str(slot.bay), "starts_at": slot.starts_at.isoformat()}


def _slot_json(w) -> dict:
    slot = _slot(w)
    return {"dealer_id": int(slot["dealer_id"]), "bay": int(slot["bay"]), "starts_at": slot["starts_at"],
            "symptoms": ["noise", "braking"], "symptom_notes": "A squeak when I brake."}


def _remedy_form(w) -> dict:
    return {"code": _campaign(w)["code"], "performed_on": date.today().isoformat(), "odometer_km": "21000"}


ROUTES: dict = {
    ("POST", "/api/admin/recalls/{code}/close"): Rule(ADMIN, params=_campaign, json=lambda w: {
        "outcome": "closed", "reason": "Every reachable owner was told three times."}),
    ("POST", "/admin/recalls/{code}/close"): Rule(ADMIN, params=_campaign, form=lambda w: {
        "outcome": "closed", "reason": "Every reachable owner was told three times."}, ok=(303,)),
    ("POST", "/me/vehicles/{vin}/recalls/{code}/booking"): Rule(SELF, params=_campaign, form=_slot, ok=(303,)),
    ("GET", "/api/me/vehicles/{vin}/recalls"): Rule(SELF, params=_campaign),
    ("POST", "/api/me/vehicles/{vin}/recalls/{code}/booking"): Rule(SELF, params=_campaign, json=_slot_json,
                                                                    ok=(201,)),
    ("GET", "/workspace/vehicles/{vin}/recalls"): Rule(DEALER),
    ("POST", "/workspace/vehicles/{vin}/recalls"): Rule(DEALER, form=_remedy_form, ok=(303,)),
    ("POST", "/api/admin/recalls"): Rule(ADMIN, json=_campaign_json, ok=(201,)),
    ("GET", "/api/admin/recalls"): Rule(ADMIN),
    ("GET", "/api/admin/recalls/{code}"): Rule(ADMIN, params=_campaign),
    ("GET", "/admin/recalls"): Rule(ADMIN),
    ("GET", "/admin/recalls/new"): Rule(ADMIN),
    ("POST", "/admin/recalls"): Rule(ADMIN, form=_campaign_form, ok=(303,)),
    ("GET", "/admin/recalls/{code}"): Rule(ADMIN, params=_campaign),
    ("GET", "/api/recalls/check/{vin}"): Rule(DEALER, params=_campaign),
    ("POST", "/api/recalls/{code}/remedies"): Rule(
        DEALER, params=_campaign, json=lambda w: {"vin": w.vehicle.vin, "performed_on": date.today().isoformat(),
                                                  "odometer_km": 21000}, ok=(201,)),
}
