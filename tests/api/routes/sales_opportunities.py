"""Access-control classes of the opportunities routes (see tests/api/test_access_control.py).

A deal about customer A at dealer A is A's data: only dealer A's sales reps, with A's sales-contact
grant, reach it. The board, the lists, the stage editor and targets are the dealer's own business.
"""

from __future__ import annotations

from tests.api.acl_rules import CUSTOMER_DATA, DEALER, Rule


def _deal(w) -> int:
    """Customer A's open deal at dealer A (with one draft quote), made once per world."""
    if "_acl_deal" not in w.__dict__:
        from forecourt.sales.models import Opportunity, Quote, StageChange

        deal = Opportunity(dealer_id=w.dealer.id, owner_user_id=w.rep.user_id, customer_id=w.customer.id,
                           kind="retail", title="Aurora Comfort", amount=40000, stage_code="new", status="open",
                           buying_factors={})
        w.session.add(deal)
        w.session.flush()
        w.session.add(StageChange(opportunity_id=deal.id, from_stage=None, to_stage="new", user_id=w.rep.user_id))
        w.session.add(Quote(opportunity_id=deal.id, version=1, total=899, status="draft", lines=[
            {"configuration_code": None, "description": "Wallbox", "quantity": 1, "unit_price": 899.0,
             "discount_percent": 0.0, "line_total": 899.0}]))
        w.session.commit()
        w.__dict__["_acl_deal"] = deal.id
    return w.__dict__["_acl_deal"]


def _lead(w) -> int:
    if "_acl_lead" not in w.__dict__:
        from forecourt.sales.models import Lead

        lead = Lead(dealer_id=w.dealer.id, customer_id=w.customer.id, source="web_form", first_name="Aurelia",
                    email=w.customer.email)
        w.session.add(lead)
        w.session.commit()
        w.__dict__["_acl_lead"] = lead.id
    return w.__dict__["_acl_lead"]


def _on_deal(w) -> dict:
    return {"opportunity_id": _deal(w)}


def _on_quote(w) -> dict:
    return {"opportunity_id": _deal(w), "version": 1}


def _deal_rule(**kwargs) -> Rule:
    return Rule(CUSTOMER_DATA, purpose="sales_contact", reads_purpose=False, dealers_only=True,
                **({"params": _on_deal} | kwargs))


_QUOTE_FORM = {"line_configuration_code": "", "line_description": "Wallbox", "line_quantity": "1",
               "line_unit_price": "899", "line_discount_percent": "0", "valid_until": "", "note": ""}
_STAGES = {"stages": [{"code": "new", "name": "Enquiry", "probability": 10},
                      {"name": "Home visit", "probability": 35}], "won_name": "Signed", "lost_name": "Lost"}

ROUTES: dict = {
    # --- JSON ------------------------------------------------------------------------------------
    ("GET", "/api/opportunities"): Rule(DEALER),
    ("POST", "/api/opportunities"): _deal_rule(params=None, json=lambda w: {"customer_id": w.customer.id},
                                               ok=(201,)),
    ("POST", "/api/leads/{lead_id}/convert"): _deal_rule(params=lambda w: {"lead_id": _lead(w)}, ok=(201,)),
    ("GET", "/api/opportunities/{opportunity_id}"): _deal_rule(),
    ("PATCH", "/api/opportunities/{opportunity_id}"): _deal_rule(json=lambda w: {"amount": 41000}),
    ("POST", "/api/opportunities/{opportunity_id}/stage"): _deal_rule(json=lambda w: {"stage_code": "qualified"}),
    ("POST", "/api/opportunities/{opportunity_id}/won"): _deal_rule(),
    ("POST", "/api/opportunities/{opportunity_id}/lost"): _deal_rule(json=lambda w: {"reason": "price"}),
    ("POST", "/api/opportunities/{opportunity_id}/activities"): _deal_rule(
        json=lambda w: {"kind": "call", "notes": "Called back about the trade-in"}, ok=(201,)),
    ("POST", "/api/opportunities/{opportunity_id}/quotes"): _deal_rule(
        json=lambda w: {"lines": [{"description": "Floor mats", "unit_price": 120}]}, ok=(201,)),
    ("POST", "/api/opportunities/{opportunity_id}/quotes/{version}/send"): _deal_rule(params=_on_quote),
    ("POST", "/api/opportunities/{opportunity_id}/quotes/{version}/accept"): _deal_rule(params=_on_quote),
    ("GET", "/api/stages"): Rule(DEALER),
    ("PUT", "/api/stages"): Rule(DEALER, json=lambda w: _STAGES),
    ("GET", "/api/targets"): Rule(DEALER),
    ("PUT", "/api/targets"): Rule(DEALER, json=lambda w: {"month": "2026-04", "units": 6, "value": 240000}),
    # --- pages -----------------------------------------------------------------------------------
    ("GET", "/workspace/opportunities"): Rule(DEALER),
    ("GET", "/workspace/opportunities/new"): Rule(DEALER),
    ("POST", "/workspace/opportunities"): _deal_rule(params=None, form=lambda w: {"kind": "retail",
                                                                                  "customer_id": w.customer.id},
                                                     ok=(303,)),
    ("POST", "/workspace/leads/{lead_id}/convert"): _deal_rule(params=lambda w: {"lead_id": _lead(w)}, ok=(303,)),
    ("GET", "/workspace/opportunities/{opportunity_id}"): _deal_rule(),
    ("POST", "/workspace/opportunities/{opportunity_id}/details"): _deal_rule(form=lambda w: {"amount": "41000"},
                                                                              ok=(303,)),
    ("POST", "/workspace/opportunities/{opportunity_id}/factors"): _deal_rule(
        form=lambda w: {"decides_price": "yes", "covered_price": "yes"}, ok=(303,)),
    ("POST", "/workspace/opportunities/{opportunity_id}/stage"): _deal_rule(form=lambda w: {"stage_code": "offer"},
                                                                            ok=(303,)),
    ("POST", "/workspace/opportunities/{opportunity_id}/activities"): _deal_rule(
        form=lambda w: {"kind": "visit", "notes": "Came by with the family"}, ok=(303,)),
    ("POST", "/workspace/opportunities/{opportunity_id}/won"): _deal_rule(ok=(303,)),
    ("POST", "/workspace/opportunities/{opportunity_id}/lost"): _deal_rule(
        form=lambda w: {"reason": "delivery_time", "post_mortem": "Needed the car in May"}, ok=(303,)),
    ("POST", "/workspace/opportunities/{opportunity_id}/quotes"): _deal_rule(form=lambda w: _QUOTE_FORM, ok=(303,)),
    ("POST", "/workspace/opportunities/{opportunity_id}/quotes/{version}/send"): _deal_rule(params=_on_quote,
                                                                                            ok=(303,)),
    ("POST", "/workspace/opportunities/{opportunity_id}/quotes/{version}/accept"): _deal_rule(params=_on_quote,
                                                                                              ok=(303,)),
    ("GET", "/workspace/stages"): Rule(DEALER),
    ("POST", "/workspace/stages"): Rule(DEALER, form=lambda w: {
        "stage_code": ["new", ""], "stage_name": ["Enquiry", "Home visit"], "stage_probability": ["10", "35"],
        "stage_position": ["1", "2"], "won_name": "Signed", "lost_name": "Lost"}, ok=(303,)),
}
