"""Access-control classes of the finance-contract routes (see tests/api/test_access_control.py).

A finance partner's contracts are its own (LENDER): its analysts record one for a car whose owner
granted it its purpose and read their own; everybody else finds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from forecourt.sales import finance
from tests.api.acl_rules import LENDER, Rule


def _lender(w):
    partner, _analyst = w.partner_reader("finance")
    w.grant(partner, "marketing_offers")
    return partner


def contract_json(w) -> dict:
    _lender(w)
    return {"vin": w.vehicle.vin, "product": "lease", "starts_on": (date.today() - timedelta(days=700)).isoformat(),
            "ends_on": (date.today() + timedelta(days=400)).isoformat(), "monthly_amount": "349.00",
            "currency": "EUR"}


def _contract(w) -> dict:
    if not hasattr(w, "_finance_contract"):
        partner = _lender(w)
        contract = finance.enter(session=w.session, organization_id=partner.id, vehicle_id=w.vehicle.id,
                                 customer_id=w.customer.id, product="loan", starts_on=date.today() - timedelta(days=30),
                                 ends_on=date.today() + timedelta(days=1000), monthly_amount=Decimal("299.00"),
                                 currency="EUR")
        w.session.commit()
        w._finance_contract = contract.id
    return {"contract_id": w._finance_contract}


ROUTES = {
    ("GET", "/api/finance/contracts"): Rule(LENDER, params=_contract),
    ("POST", "/api/finance/contracts"): Rule(LENDER, json=contract_json, ok=(201,)),
    ("GET", "/api/finance/contracts/{contract_id}"): Rule(LENDER, params=_contract),
}
