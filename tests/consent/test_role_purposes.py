"""Each role states only the purposes of its work: a purpose outside the role's list is a 404, exactly
like a missing grant, whatever the customer granted the organization. The mapping is data the
carmaker sees and the customer's privacy page explains."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forecourt.consent import service as consent
from forecourt.consent.catalogue import PURPOSES, ROLE_PURPOSES
from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Principal, Role
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from tests.factories import admin_login, browser_for

# What the privacy notice promises: the purposes of each role's work.
EXPECTED = {
    ("dealer_sales", None): {"sales_contact", "marketing_offers"},
    ("dealer_service", None): {"service_reminders", "vehicle_health_sharing", "location_services", "warranty_work",
                               "car_sharing"},
    ("call_centre_agent", None): {"emergency_assistance"},
    ("carmaker_admin", None): {"marketing_offers", "location_services", "vehicle_health_sharing", "safety_recalls"},
    ("partner_analyst", "insurance"): {"driving_behaviour_insurance"},
    ("partner_analyst", "finance"): {"marketing_offers"},
    ("partner_analyst", "roadside"): {"location_services"},
    ("partner_analyst", "emergency"): set(),
}


def _principal(session, login) -> Principal:
    return parties_service.principal_for(parties_service.get_user(session=session, user_id=login.user_id))


def _logged(session, customer) -> int:
    return session.scalar(select(func.count(AccessLogEntry.id)).where(AccessLogEntry.customer_id == customer.id))


def test_a_sales_rep_cannot_read_a_withdrawn_customer_by_stating_the_workshops_purpose(make, client, session):
    """Attack: after the driver withdraws the dealer's sales contact, its sales rep reads her contact
    profile with ``?purpose=service_reminders`` (the dealer's workshop holds that grant)."""
    dealer, customer = make.dealer(), make.customer(last_name="Withdrawn")
    rep, advisor = make.staff(dealer, Role.DEALER_SALES), make.staff(dealer, Role.DEALER_SERVICE)
    make.vehicle(owner=customer, dealer=dealer)
    for purpose in ("sales_contact", "service_reminders", "vehicle_health_sharing"):
        make.grant(customer, dealer, purpose)
    make.withdraw(customer, dealer, "sales_contact")
    before = _logged(session, customer)
    for purpose in ("service_reminders", "vehicle_health_sharing", "warranty_work", "sales_contact"):
        for path in (f"/api/customers/{customer.id}/profile", f"/api/customers/{customer.id}",
                     f"/api/customers/{customer.id}/vehicles"):
            response = client.get(path, params={"purpose": purpose}, headers=rep.headers)
            assert response.status_code == 404, (path, purpose, response.text)
            assert customer.email not in response.text
        listed = client.get("/api/customers", params={"purpose": purpose}, headers=rep.headers)
        assert customer.email not in listed.text
    page = browser_for(make, rep).get(f"/workspace/customers/{customer.id}?purpose=service_reminders")
    assert page.status_code == 404 and customer.email not in page.text
    assert _logged(session, customer) == before, "a refused read was logged"
    # the workshop itself still reads for its own work
    own = client.get(f"/api/customers/{customer.id}/profile", params={"purpose": "service_reminders"},
                     headers=advisor.headers)
    assert own.status_code == 200 and own.json()["email"] == customer.email


def test_the_call_centre_cannot_read_marketing_customers(make, client, session):
    """Attack: a call-centre agent states ``marketing_offers`` to read the contact details of the
    customers who allowed the carmaker marketing."""
    carmaker = make.carmaker()
    agent, admin = make.staff(carmaker, Role.CALL_CENTRE_AGENT), admin_login(make)
    customer = make.customer(last_name="Marketable")
    make.grant(customer, carmaker, "marketing_offers")
    make.grant(customer, carmaker, "location_services")
    before = _logged(session, customer)
    for purpose in ("marketing_offers", "location_services", None):
        params = {"purpose": purpose} if purpose else {}
        assert client.get(f"/api/customers/{customer.id}/profile", params=params,
                          headers=agent.headers).status_code == 404
        for path in ("/api/customers", "/api/customers.csv"):
            assert customer.email not in client.get(path, params=params, headers=agent.headers).text
    assert _logged(session, customer) == before
    # the carmaker's marketing staff do read for marketing
    assert client.get(f"/api/customers/{customer.id}/profile", params={"purpose": "marketing_offers"},
                      headers=admin.headers).status_code == 200


def test_an_insurer_reads_only_driving_behaviour(make, client, session):
    insurer, customer = make.partner("insurance"), make.customer()
    analyst = make.staff(insurer, Role.PARTNER_ANALYST)
    for purpose in ("driving_behaviour_insurance", "marketing_offers", "location_services"):
        make.grant(customer, insurer, purpose)
    principal = _principal(session, analyst)
    assert consent.purposes_of_role(session=session, principal=principal) == ["driving_behaviour_insurance"]
    assert client.get(f"/api/customers/{customer.id}", params={"purpose": "marketing_offers"},
                      headers=analyst.headers).status_code == 404
    assert client.get(f"/api/customers/{customer.id}", params={"purpose": "driving_behaviour_insurance"},
                      headers=analyst.headers).status_code == 200
    assert consent.allowed_purposes(session=session, principal=principal, customer_id=customer.id) == [
        "driving_behaviour_insurance"]


@pytest.mark.parametrize(("role", "kind"), sorted(EXPECTED, key=str))
def test_each_role_may_state_exactly_the_purposes_of_its_work(make, session, role, kind):
    organization = {"dealer_sales": make.dealer, "dealer_service": make.dealer, "call_centre_agent": make.carmaker,
                    "carmaker_admin": make.carmaker}.get(role) or (lambda: make.partner(kind))
    principal = _principal(session, make.staff(organization(), Role(role)))
    allowed = {p["code"] for p in PURPOSES if consent.may_state(session=session, principal=principal,
                                                                purpose=p["code"])}
    assert allowed == EXPECTED[(role, kind)]
    assert set(consent.purposes_of_role(session=session, principal=principal)) == allowed
    if allowed:  # the role's usual purpose is one of its own
        assert customers_service.default_purpose(principal, partner_kind=kind) in allowed


def test_the_mapping_is_reference_data_in_its_table(session):
    rows = {(r.role, r.partner_kind, r.purpose_code) for r in consent.role_purposes(session=session)}
    assert rows == {(role, kind, purpose) for role, kind, purpose, _ in ROLE_PURPOSES}
    assert rows == {(role, kind, purpose) for (role, kind), purposes in EXPECTED.items() for purpose in purposes}
    assert all(r.explanation.strip() for r in consent.role_purposes(session=session))
    assert consent.may_state(session=session, principal=Principal(user_id=1, role=Role.CUSTOMER, display_name="C",
                                                                   customer_id=1), purpose="sales_contact") is False


def test_the_carmaker_sees_the_mapping_on_a_page(make):
    admin = browser_for(make, admin_login(make))
    page = admin.get("/admin/purposes")
    assert page.status_code == 200
    assert 'data-role="dealer_sales" data-purpose="sales_contact"' in page.text
    assert 'data-role="call_centre_agent" data-purpose="emergency_assistance"' in page.text
    assert 'data-role="call_centre_agent" data-purpose="marketing_offers"' not in page.text
    for role in (Role.DEALER_SALES, Role.DEALER_SERVICE):
        assert browser_for(make, make.staff(make.dealer(), role)).get("/admin/purposes").status_code == 404


def test_the_privacy_page_explains_who_reads_for_each_purpose(make):
    me = browser_for(make, make.customer_login(make.customer()))
    page = me.get("/me/privacy")
    assert page.status_code == 200 and 'id="roles-explained"' in page.text
    sales = page.text.split('id="roles-sales_contact"', 1)[1].split("</span>", 1)[0]
    assert "Dealer sales" in sales and "Dealer service" not in sales and "Call-centre" not in sales
    emergency = page.text.split('id="roles-emergency_assistance"', 1)[1].split("</span>", 1)[0]
    assert "Call-centre agent" in emergency and "Dealer" not in emergency
