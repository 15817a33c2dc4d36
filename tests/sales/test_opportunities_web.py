"""The opportunity pages and JSON routes, used as a sales rep would: logged in, forms with the CSRF token."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.sales import opportunities as opps
from forecourt.sales.models import Opportunity, StageChange
from tests.factories import browser_for, csrf_token_of
from tests.sales.test_opportunities import configuration, lead, principal_of


@pytest.fixture
def desk(make, session):
    """Dealer, rep login + principal + logged-in browser, and a customer who allowed sales contact."""
    dealer = make.dealer(name="Autohaus Nord")
    login = make.staff(dealer, Role.DEALER_SALES)
    customer = make.customer(first_name="Greta", last_name="Grantwell")
    make.grant(customer, dealer, "sales_contact")
    session.commit()
    browser = browser_for(make, login)
    return dict(dealer=dealer, login=login, rep=principal_of(session, login), customer=customer, browser=browser)


def post(session, browser, url: str, data: dict | None = None):
    return browser.post(url, data=(data or {}) | {"csrf_token": csrf_token_of(session, browser)},
                        follow_redirects=False)


def test_board_is_empty_then_shows_cards_by_stage(make, session, desk):
    page = desk["browser"].get("/workspace/opportunities")
    assert page.status_code == 200 and "You have no open deals" in page.text
    late = opps.create(session=session, principal=desk["rep"], values=dict(
        customer_id=desk["customer"].id, amount=38500, title="Aurora for Greta"))
    late.expected_close = date.today() - timedelta(days=2)  # the close date slipped
    fleet = opps.create(session=session, principal=desk["rep"], values=dict(
        kind="fleet", account_name="Stadtwerke Kiel", quantity=5, amount=200000))
    opps.move(session=session, principal=desk["rep"], opportunity_id=fleet.id, stage_code="offer")
    colleague = make.staff(desk["dealer"], Role.DEALER_SALES)
    theirs = opps.create(session=session, principal=principal_of(session, colleague),
                         values=dict(kind="fleet", account_name="Hafen GmbH", amount=1))
    session.commit()
    page = desk["browser"].get("/workspace/opportunities")
    assert page.status_code == 200
    assert "Aurora for Greta" in page.text and "Greta Grantwell" in page.text and "Stadtwerke Kiel" in page.text
    assert "Overdue: expected" in page.text and "€38,500" in page.text and "€200,000" in page.text
    assert "Hafen GmbH" not in page.text  # someone else's deal is under "all"
    assert page.text.index('id="col-new"') < page.text.index("Aurora for Greta") < page.text.index('id="col-offer"')
    everything = desk["browser"].get("/workspace/opportunities?show=all")
    assert "Hafen GmbH" in everything.text and theirs.id


def test_a_walk_in_is_created_through_the_form_and_errors_are_named(make, session, desk):
    browser = desk["browser"]
    form = browser.get(f"/workspace/opportunities/new?q={desk['customer'].last_name}")
    assert form.status_code == 200 and "Grantwell, Greta" in form.text
    refused = post(session, browser, "/workspace/opportunities", {"kind": "retail"})
    assert refused.status_code == 422 and "Choose the customer this deal is for." in refused.text
    past = post(session, browser, "/workspace/opportunities", {
        "kind": "retail", "customer_id": desk["customer"].id, "expected_close": "2020-01-01"})
    assert past.status_code == 422 and "expected close date is in the past" in past.text
    config = configuration(make, total=44100)
    session.commit()
    made = post(session, browser, "/workspace/opportunities", {
        "kind": "retail", "customer_id": str(desk["customer"].id), "configuration_code": config.code})
    assert made.status_code == 303
    deal = session.scalars(select(Opportunity).where(Opportunity.customer_id == desk["customer"].id)).one()
    assert made.headers["location"].startswith(f"/workspace/opportunities/{deal.id}")
    assert float(deal.amount) == 44100.0 and deal.configuration_id == config.id
    page = browser.get(f"/workspace/opportunities/{deal.id}")
    assert page.status_code == 200 and "Greta Grantwell" in page.text and "Move to" in page.text


def test_the_deal_page_forms_move_log_quote_and_lose(make, session, desk):
    browser = desk["browser"]
    deal = opps.create(session=session, principal=desk["rep"], values=dict(customer_id=desk["customer"].id))
    session.commit()
    base = f"/workspace/opportunities/{deal.id}"
    assert post(session, browser, f"{base}/stage", {"stage_code": "test_drive"}).status_code == 303
    assert post(session, browser, f"{base}/activities", {
        "kind": "test_drive", "model_id": str(make.trim().model_id), "notes": "30 km on the Autobahn"}).status_code == 303
    assert post(session, browser, f"{base}/factors", {
        "decides_price": "yes", "covered_price": "yes", "decides_range_and_charging": "yes"}).status_code == 303
    assert post(session, browser, f"{base}/details", {
        "amount": "41999.50", "expected_close": (date.today() + timedelta(days=10)).isoformat()}).status_code == 303
    quoted = post(session, browser, f"{base}/quotes", {
        "line_configuration_code": ["", ""], "line_description": ["Aurora Comfort", "Wallbox"],
        "line_quantity": ["1", "1"], "line_unit_price": ["40000", "1000"], "line_discount_percent": ["5", "0"]})
    assert quoted.status_code == 303
    assert post(session, browser, f"{base}/quotes/1/accept").status_code == 303
    session.expire_all()
    assert (deal.stage_code, float(deal.amount)) == ("test_drive", 39000.0)
    assert deal.buying_factors == {"price": True, "range_and_charging": False}
    page = browser.get(base)
    assert "Moved from &#39;New&#39; to &#39;Test drive&#39;" in page.text and "30 km on the Autobahn" in page.text
    assert "Version 1" in page.text and "€ 39,000.00" in page.text

    no_reason = post(session, browser, f"{base}/lost", {"reason": "", "post_mortem": "Gone"})
    assert no_reason.status_code == 422 and "Say why the deal was lost: choose a reason." in no_reason.text
    other = post(session, browser, f"{base}/lost", {"reason": "other"})
    assert other.status_code == 422 and "write in the notes" in other.text
    assert post(session, browser, f"{base}/lost", {"reason": "price", "post_mortem": "3 % too dear"}).status_code == 303
    session.expire_all()
    assert (deal.status, deal.lost_reason, deal.post_mortem) == ("lost", "price", "3 % too dear")
    stages = [c.to_stage for c in session.scalars(select(StageChange).where(StageChange.opportunity_id == deal.id)
                                                  .order_by(StageChange.id))]
    assert stages == ["new", "test_drive", "lost"]
    assert "Reason: <strong>Price</strong>" in browser.get(base).text


def test_converting_a_lead_from_its_page(make, session, desk):
    source = lead(make, desk["dealer"], desk["customer"])
    session.commit()
    first = post(session, desk["browser"], f"/workspace/leads/{source.id}/convert")
    assert first.status_code == 303
    deal = session.scalars(select(Opportunity).where(Opportunity.lead_id == source.id)).one()
    assert first.headers["location"].startswith(f"/workspace/opportunities/{deal.id}?")
    again = post(session, desk["browser"], f"/workspace/leads/{source.id}/convert")
    assert again.status_code == 303 and again.headers["location"].startswith(f"/workspace/opportunities/{deal.id}?")
    assert "already+opportunity" in again.headers["location"]
    assert session.scalar(select(func.count(Opportunity.id)).where(Opportunity.lead_id == source.id)) == 1


def test_other_dealers_and_customers_without_a_grant_get_404(make, session, desk):
    deal = opps.create(session=session, principal=desk["rep"], values=dict(customer_id=desk["customer"].id))
    session.commit()
    outsider = browser_for(make, make.staff(make.dealer(), Role.DEALER_SALES))
    assert outsider.get(f"/workspace/opportunities/{deal.id}").status_code == 404
    make.withdraw(desk["customer"], desk["dealer"])
    logged = session.scalar(select(func.count(AccessLogEntry.id)).where(
        AccessLogEntry.customer_id == desk["customer"].id))
    assert desk["browser"].get(f"/workspace/opportunities/{deal.id}").status_code == 404
    assert desk["login"] and desk["browser"].get("/workspace/opportunities").status_code == 200
    assert session.scalar(select(func.count(AccessLogEntry.id)).where(
        AccessLogEntry.customer_id == desk["customer"].id)) == logged
    advisor = browser_for(make, make.staff(desk["dealer"], Role.DEALER_SERVICE))
    assert advisor.get("/workspace/opportunities").status_code == 404


def test_the_stage_editor(make, session, desk):
    browser = desk["browser"]
    page = browser.get("/workspace/stages")
    assert page.status_code == 200 and "network's default stages" in page.text and 'value="Negotiation"' in page.text
    saved = post(session, browser, "/workspace/stages", {
        "stage_code": ["new", "qualified", "test_drive", "offer", "negotiation", ""],
        "stage_name": ["Enquiry", "Qualified", "Test drive", "Offer", "Negotiation", "Financing"],
        "stage_probability": ["10", "25", "40", "60", "80", "90"], "stage_position": ["1", "2", "3", "4", "5", "4.5"],
        "remove": ["qualified"], "won_name": "Signed", "lost_name": "Lost"})
    assert saved.status_code == 303
    names = [s["name"] for s in desk["browser"].get("/api/stages", headers=desk["login"].headers).json()["stages"]]
    assert names == ["Enquiry", "Test drive", "Offer", "Financing", "Negotiation", "Signed", "Lost"]
    opps.create(session=session, principal=desk["rep"], values=dict(customer_id=desk["customer"].id))
    session.commit()
    refused = post(session, browser, "/workspace/stages", {
        "stage_code": ["new", "offer"], "stage_name": ["Enquiry", "Offer"], "stage_probability": ["10", "60"],
        "stage_position": ["1", "2"], "remove": ["new"], "won_name": "Signed", "lost_name": "Lost"})
    assert refused.status_code == 422 and "cannot be removed: 1 open deal is in it" in refused.text


def test_json_routes_and_bad_input(make, session, client, desk):
    headers = desk["login"].headers
    made = client.post("/api/opportunities", headers=headers, json={"customer_id": desk["customer"].id,
                                                                    "amount": 30000})
    assert made.status_code == 201
    deal_id = made.json()["id"]
    extra = client.post("/api/opportunities", headers=headers, json={"customer_id": desk["customer"].id,
                                                                     "status": "won"})
    assert extra.status_code == 422 and extra.json()["detail"][0]["type"] == "extra_forbidden"
    forged = client.post(f"/api/opportunities/{deal_id}/quotes", headers=headers,
                         json={"lines": [{"description": "Mats", "unit_price": 10}], "total": 1})
    assert forged.status_code == 422
    assert client.post(f"/api/opportunities/{deal_id}/lost", headers=headers,
                       json={"reason": "weather"}).status_code == 422
    no_reason = client.post(f"/api/opportunities/{deal_id}/lost", headers=headers, json={})
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0]["loc"] == ["body", "reason"]
    assert client.post(f"/api/opportunities/{deal_id}/stage", headers=headers,
                       json={"stage_code": "offer"}).status_code == 200
    listed = client.get("/api/opportunities", headers=headers, params={"stage": "offer", "owner": "me"}).json()
    assert [o["id"] for o in listed] == [deal_id]
    assert client.get("/api/opportunities", headers=headers, params={"stage": "new"}).json() == []
    detail = client.get(f"/api/opportunities/{deal_id}", headers=headers).json()
    assert [e["kind"] for e in detail["timeline"]] == ["stage", "stage"] and detail["opportunity"]["amount"] == 30000
    target = client.put("/api/targets", headers=headers, json={"month": "2026-13", "units": 1, "value": 1})
    assert target.status_code == 422
    assert client.put("/api/targets", headers=headers,
                      json={"month": "2026-05", "units": 8, "value": 320000}).json()["units"] == 8
