"""Access-control classes of the recalls routes (see tests/api/test_access_control.py).

Campaigns are the carmaker administrators' (ADMIN): counts and dealers, never an owner. A dealer's
check-in flags and remedies are about the car only (DEALER). Opening a campaign is audited.
"""

from __future__ import annotations

from datetime import date

from forecourt.core.auth import Principal, Role
from forecourt.vehicles import recalls
from tests.api.acl_rules import ADMIN, DEALER, Rule


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


ROUTES: dict = {
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
