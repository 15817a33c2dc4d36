"""The dealer and partner workspace: only customers who allowed it, for the purpose stated."""

from __future__ import annotations

from forecourt.consent import service as consent_service
from forecourt.core.auth import Role
from forecourt.customers import service as customers_service


def test_list_shows_only_customers_who_granted_the_purpose(make, visit):
    dealer = make.dealer(name="Autohaus Süd")
    allowed = make.customer(first_name="Ada", last_name="Allowed")
    make.customer(first_name="Nils", last_name="Notallowed")
    other_purpose = make.customer(first_name="Olga", last_name="Otherpurpose")
    make.grant(allowed, dealer, "sales_contact")
    make.grant(other_purpose, dealer, "service_reminders")
    rep = visit(make.staff(dealer, Role.DEALER_SALES).email)

    page = rep.get("/workspace/customers")
    assert page.status_code == 200
    assert "Allowed, Ada" in page.text
    assert "Notallowed" not in page.text and "Otherpurpose" not in page.text
    assert '<option value="sales_contact" selected>' in page.text  # a sales rep's usual purpose
    assert 'value="emergency_assistance"' not in page.text  # only purposes a customer consents to

    assert 'value="service_reminders"' not in page.text  # only purposes of the rep's own work
    service = rep.get("/workspace/customers?purpose=service_reminders")  # the workshop's, not the rep's
    assert service.status_code == 400 and "Otherpurpose" not in service.text and "Allowed" not in service.text
    advisor = visit(make.staff(dealer, Role.DEALER_SERVICE).email)
    service = advisor.get("/workspace/customers?purpose=service_reminders")
    assert "Otherpurpose, Olga" in service.text and "Allowed, Ada" not in service.text


def test_list_is_written_to_each_listed_customers_access_log(make, visit, session):
    dealer = make.dealer()
    customer = make.customer()
    make.grant(customer, dealer, "sales_contact")
    rep = visit(make.staff(dealer).email)  # logging in lands on the list once already
    before = len(customers_service.access_log(session=session, customer_id=customer.id))
    rep.get("/workspace/customers")
    entries = customers_service.access_log(session=session, customer_id=customer.id)
    assert len(entries) == before + 1
    assert (entries[0]["what"], entries[0]["organization_id"], entries[0]["purpose_code"]) == (
        "customer list", dealer.id, "sales_contact")


def test_search_and_pagination(make, visit):
    dealer = make.dealer()
    for i in range(27):
        customer = customers_service.create(session=make.session, email=f"page{i}-{make.n()}@example.test",
                                            profile=dict(first_name="Pat", last_name=f"Page{i:02d}", city="Bonn"))
        consent_service.give(session=make.session, customer_id=customer.id, organization_id=dealer.id,
                             purpose_code="sales_contact", method="test")
    make.customer(first_name="Quinn", last_name="Unique", city="Trier")
    rep = visit(make.staff(dealer).email)

    first = rep.get("/workspace/customers")
    assert "1–25 of 27" in first.text and "Page00" in first.text and "Page25" not in first.text
    assert 'rel="next"' in first.text
    second = rep.get("/workspace/customers?purpose=sales_contact&page=2")
    assert "26–27 of 27" in second.text and "Page26" in second.text and "Page00" not in second.text

    found = rep.get("/workspace/customers?q=page07")
    assert "Page07" in found.text and "Page08" not in found.text
    nothing = rep.get("/workspace/customers?q=unique")  # exists, but never allowed this dealer
    assert "Unique" not in nothing.text.split("No customer matches")[0].split("<h1>")[-1]
    assert "No customer matches" in nothing.text


def test_empty_list_explains_how_customers_appear(make, visit):
    dealer = make.dealer(name="Autohaus Leer")
    page = visit(make.staff(dealer).email).get("/workspace/customers")
    assert page.status_code == 200
    assert "Customers appear here once they allow Autohaus Leer" in page.text


def test_a_purpose_that_needs_no_consent_justifies_no_list(make, visit):
    dealer = make.dealer()
    rep = visit(make.staff(dealer).email)
    assert rep.get("/workspace/customers?purpose=safety_recalls").status_code == 400
    assert rep.get("/workspace/customers?purpose=no_such_purpose").status_code == 400


def test_customer_360_is_not_found_without_a_grant_and_shown_with_one(make, visit):
    dealer = make.dealer(name="Autohaus West")
    customer = make.customer(first_name="Vera", last_name="Visible")
    vehicle = make.vehicle(owner=customer, dealer=dealer)
    rep = visit(make.staff(dealer, Role.DEALER_SALES).email)
    url = f"/workspace/customers/{customer.id}"

    missing = rep.get(url)
    assert missing.status_code == 404 and "Vera" not in missing.text
    assert "not yours to see" in missing.text

    make.grant(customer, dealer, "sales_contact")
    page = rep.get(url)
    assert page.status_code == 200
    assert "Vera Visible" in page.text and customer.email in page.text and vehicle.vin in page.text
    assert "You are reading for <strong>Sales contact</strong>" in page.text

    make.withdraw(customer, dealer, "sales_contact")
    assert rep.get(url).status_code == 404  # withdrawal counts from the very next read


def test_customer_360_shows_only_the_sections_the_purpose_allows(make, visit):
    dealer = make.dealer()
    customer = make.customer()
    vehicle = make.vehicle(owner=customer, dealer=dealer)
    make.service_record(vehicle, dealer)
    customers_service.update_preferences(session=make.session, customer_id=customer.id,
                                         changes={"radio_presets": ["Radio Eins 95.8"]})
    make.grant(customer, dealer, "location_services")
    make.grant(customer, dealer, "service_reminders")
    make.grant(customer, dealer, "marketing_offers")  # the dealer's sales team's, not the workshop's
    advisor = visit(make.staff(dealer, Role.DEALER_SERVICE).email)

    service = advisor.get(f"/workspace/customers/{customer.id}?purpose=service_reminders")
    assert "Service history" in service.text and "Annual inspection" in service.text
    assert "Radio Eins 95.8" in service.text
    assert 'href="?purpose=location_services"' in service.text  # the other purpose it may read for
    assert 'href="?purpose=marketing_offers"' not in service.text  # granted, but not the workshop's work

    location = advisor.get(f"/workspace/customers/{customer.id}?purpose=location_services")
    assert location.status_code == 200
    assert vehicle.vin in location.text
    assert "Annual inspection" not in location.text and "Radio Eins" not in location.text
    assert advisor.get(f"/workspace/customers/{customer.id}?purpose=marketing_offers").status_code == 404


def test_customer_360_for_a_purpose_without_consent_needs_a_case(make, visit):
    dealer = make.dealer()
    customer = make.customer()
    make.grant(customer, dealer, "sales_contact")
    rep = visit(make.staff(dealer).email)
    assert rep.get(f"/workspace/customers/{customer.id}?purpose=warranty_work").status_code == 404


def test_workspace_does_not_exist_for_customers(make, visit):
    customer = make.customer()
    me = visit(customer.email)
    assert me.get("/workspace/customers").status_code == 404
    assert me.get(f"/workspace/customers/{customer.id}").status_code == 404


def test_customer_360_of_a_buyer_who_sold_the_car_on_says_so(make, visit, session):
    """Not "No cars" beside a car bought here: the page says the car was sold on."""
    from datetime import timedelta

    from forecourt.core.clock import now
    from forecourt.vehicles import service as vehicles_service

    dealer = make.dealer(name="Autohaus Ost")
    customer = make.customer(first_name="Sina", last_name="Seller")
    vehicle = make.vehicle(owner=customer, dealer=dealer, since=now() - timedelta(days=500))
    vehicles_service.end_ownership(session=session, vehicle_id=vehicle.id, at=now() - timedelta(days=20))
    session.commit()
    make.grant(customer, dealer, "sales_contact")
    page = visit(make.staff(dealer, Role.DEALER_SALES).email).get(f"/workspace/customers/{customer.id}")
    assert page.status_code == 200 and vehicle.vin in page.text
    assert 'id="no-car-now"' in page.text and "No cars registered to this customer." not in page.text
