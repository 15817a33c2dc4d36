"""The driver's portal pages, logged in through the login form."""

from __future__ import annotations

import json

from markupsafe import escape

from forecourt.consent import service as consent_service
from forecourt.core.auth import Role
from forecourt.customers import service as customers_service
from forecourt.customers.models import Customer
from tests.factories import submit_login


def _driver_with_car(make):
    dealer = make.dealer(name="Autohaus Nord")
    customer = make.customer(first_name="Mara", last_name="Lind")
    vehicle = make.vehicle(owner=customer, dealer=dealer, registration="HH-ML 42")
    return customer, dealer, vehicle


def test_my_cars_shows_model_vin_since_and_dealers(make, visit):
    customer, dealer, vehicle = _driver_with_car(make)
    me = visit(customer.email)
    page = me.get("/me")
    assert page.status_code == 200
    assert vehicle.vin in page.text and vehicle.model_name in page.text
    assert "Yours since" in page.text and "Autohaus Nord" in page.text
    assert "HH-ML 42" in page.text


def test_my_cars_empty_state(make, visit):
    customer = make.customer()
    page = visit(customer.email).get("/me")
    assert page.status_code == 200
    assert "No cars yet" in page.text


def test_profile_form_saves_and_points_at_wrong_fields(make, visit, session):
    customer = make.customer(first_name="Mara")
    me = visit(customer.email)
    assert 'value="Mara"' in me.get("/me/profile").text

    wrong = me.post("/me/profile", {"first_name": "", "last_name": "Lind", "phone": "call me maybe",
                                    "country": "Germany", "birth_date": "31.12.1990"})
    assert wrong.status_code == 422
    assert "Enter your given name(s)." in wrong.text
    assert "Use digits, spaces and + ( ) / - only." in wrong.text
    assert "two-letter country code" in wrong.text
    assert 'value="call me maybe"' in wrong.text  # what was typed stays in the form

    saved = me.post("/me/profile", {"first_name": "Mara", "last_name": "Lind", "phone": "+49 40 555",
                                    "city": "Kiel", "country": "de", "birth_date": "1990-12-31",
                                    "language": "de"})
    assert saved.status_code == 303
    session.expire_all()
    fresh = customers_service.get(session=session, customer_id=customer.id)
    assert (fresh.last_name, fresh.city, fresh.country, fresh.language) == ("Lind", "Kiel", "DE", "de")
    assert str(fresh.birth_date) == "1990-12-31"


def test_preferences_form_saves_presets_favourites_and_seat(make, visit, session):
    customer = make.customer()
    me = visit(customer.email)
    me.get("/me/profile")
    response = me.post("/me/preferences", {
        "radio_preset": ["SWR3 99.9", "", "NDR 2"],
        "favourite_label": ["Home", "", ""], "favourite_address": ["Hafenstr. 1, Kiel", "", ""],
        "favourite_latitude": ["", "", ""], "favourite_longitude": ["", "", ""],
        "seat_height": "4", "seat_distance": "7", "seat_recline": "3", "preferred_contact": "sms"})
    assert response.status_code == 303
    session.expire_all()
    preferences = customers_service.get_preferences(session=session, customer_id=customer.id)
    assert preferences.radio_presets == ["SWR3 99.9", "NDR 2"]
    assert preferences.navigation_favourites[0]["label"] == "Home"
    assert preferences.seat_position | {} == {"height": 4, "distance": 7, "recline": 3, "lumbar": 0}
    assert preferences.preferred_contact == "sms"
    page = me.get("/me/profile")
    assert 'value="SWR3 99.9"' in page.text and 'value="Hafenstr. 1, Kiel"' in page.text


def test_preferences_form_errors_are_per_field(make, visit):
    customer = make.customer()
    me = visit(customer.email)
    me.get("/me/profile")
    half_seat = me.post("/me/preferences", {"seat_height": "4", "seat_distance": "", "seat_recline": ""})
    assert half_seat.status_code == 422
    assert "Fill in height, distance and recline" in half_seat.text
    too_far = me.post("/me/preferences", {"seat_height": "4", "seat_distance": "40", "seat_recline": "2",
                                          "favourite_label": ["Work"], "favourite_address": [""],
                                          "favourite_latitude": [""], "favourite_longitude": [""]})
    assert too_far.status_code == 422
    assert "less than or equal to 20" in too_far.text
    assert "Favourite 1:" in too_far.text


def test_forms_without_the_csrf_token_are_refused(make, visit):
    customer = make.customer()
    me = visit(customer.email)
    assert me.post("/me/profile", {"first_name": "X", "last_name": "Y"}, csrf=False).status_code == 403
    assert me.post("/me/profile", {"first_name": "X", "last_name": "Y", "csrf_token": "forged"}).status_code == 403
    dealer = make.dealer()
    assert me.post(f"/me/privacy/{dealer.id}/sales_contact", {"allow": "yes"}, csrf=False).status_code == 403
    assert me.post("/me/data/erase", {"confirm": "erase"}, csrf=False).status_code == 403


def test_privacy_matrix_lists_organizations_purposes_and_the_notice(make, visit):
    customer, dealer, _ = _driver_with_car(make)
    carmaker = make.carmaker()
    page = visit(customer.email).get("/me/privacy")
    assert page.status_code == 200
    assert "Autohaus Nord" in page.text and carmaker.name in page.text
    for purpose in consent_service.list_purposes(session=make.session):
        assert str(escape(purpose.name)) in page.text and str(escape(purpose.description)) in page.text
    assert "No consent needed, always logged" in page.text
    notice = consent_service.current_notice(session=make.session)
    assert f"version {notice.version}" in page.text
    assert f'action="/me/privacy/{dealer.id}/sales_contact"' in page.text


def test_one_click_toggles_give_and_withdraw(make, visit, session):
    customer, dealer, _ = _driver_with_car(make)
    me = visit(customer.email)
    me.get("/me/privacy")

    given = me.post(f"/me/privacy/{dealer.id}/sales_contact", {"allow": "yes"})
    assert given.status_code == 303 and "now+allowed" in given.headers["location"]
    assert consent_service.active_grant(session=session, customer_id=customer.id, organization_id=dealer.id,
                                        purpose_code="sales_contact") is not None
    assert 'aria-checked="true"' in me.get("/me/privacy").text

    # htmx sends the header instead of a form field and gets just the cell back.
    withdrawn = me.client.post(f"/me/privacy/{dealer.id}/sales_contact", data={"allow": "no"},
                               headers={"HX-Request": "true", "X-CSRF-Token": me.csrf_token})
    assert withdrawn.status_code == 200
    assert withdrawn.text.lstrip().startswith("<td") and 'aria-checked="false"' in withdrawn.text
    assert consent_service.active_grant(session=session, customer_id=customer.id, organization_id=dealer.id,
                                        purpose_code="sales_contact") is None
    states = [r.state for r in consent_service.ledger_of(session=session, customer_id=customer.id)]
    assert states == ["granted", "withdrawn"]


def test_a_purpose_without_consent_cannot_be_toggled(make, visit, session):
    customer, dealer, _ = _driver_with_car(make)
    me = visit(customer.email)
    me.get("/me/privacy")
    response = me.post(f"/me/privacy/{dealer.id}/emergency_assistance", {"allow": "yes"})
    assert response.status_code == 303 and "does+not+rest+on+consent" in response.headers["location"]
    assert consent_service.grants_of(session=session, customer_id=customer.id) == []


def test_another_organization_can_be_added_and_granted(make, visit, session):
    customer = make.customer()
    insurer = make.partner(name="Fair Insurance")
    me = visit(customer.email)
    page = me.get("/me/privacy")
    assert f'<option value="{insurer.id}">Fair Insurance' in page.text
    assert f'id="org-{insurer.id}"' not in page.text
    added = me.get(f"/me/privacy?add={insurer.id}")
    assert f'id="org-{insurer.id}"' in added.text
    assert me.post(f"/me/privacy/{insurer.id}/driving_behaviour_insurance", {"allow": "yes"}).status_code == 303
    assert consent_service.active_grant(session=session, customer_id=customer.id, organization_id=insurer.id,
                                        purpose_code="driving_behaviour_insurance") is not None
    assert f'id="org-{insurer.id}"' in me.get("/me/privacy").text  # stays, now that it holds a grant


def test_access_log_shows_who_looked_and_why(make, visit):
    customer, dealer, _ = _driver_with_car(make)
    assert "Nobody has looked yet" in visit(customer.email).get("/me/access-log").text
    make.grant(customer, dealer, "sales_contact")
    rep = make.staff(dealer, Role.DEALER_SALES)
    assert visit(rep.email).get(f"/workspace/customers/{customer.id}").status_code == 200
    log = visit(customer.email).get("/me/access-log")
    assert log.status_code == 200
    assert "Autohaus Nord" in log.text and "Dealer sales" in log.text
    assert "Sales contact" in log.text and "customer 360" in log.text


def test_a_german_driver_reads_who_looked_in_german_with_the_reference_kept(make, visit, session):
    """What was read is stored as written (an export hands it over so); the page says it in her language."""
    from forecourt.consent import reads
    from forecourt.core import i18n

    customer, dealer, _ = _driver_with_car(make)
    customers_service.update_profile(session=session, customer_id=customer.id, changes={"language": "de"})
    session.commit()
    make.grant(customer, dealer, "sales_contact")
    assert visit(make.staff(dealer, Role.DEALER_SALES).email).get(f"/workspace/customers/{customer.id}").status_code == 200
    log = visit(customer.email).get("/me/access-log")
    assert "Kundenübersicht (360°)" in log.text and "customer 360" not in log.text
    with i18n.use_locale("ko"):
        assert reads.describe("sharing photo SH-4821") == "카셰어링 사진 SH-4821"
        assert reads.describe("lead status #12") == "리드 상태 #12"  # the longest known words, not "lead"
        assert reads.describe("something new 7") == "something new 7"  # not a text of the list: as written


def test_export_downloads_my_data_as_json(make, visit):
    customer, _, vehicle = _driver_with_car(make)
    me = visit(customer.email)
    assert 'href="/me/data/export"' in me.get("/me/data").text
    response = me.get("/me/data/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith("attachment;")
    document = json.loads(response.text)
    assert document["customer"]["email"] == customer.email
    assert document["vehicles"][0]["vin"] == vehicle.vin


def test_erasure_asks_first_then_erases_logs_out_and_reports(make, visit, session):
    customer, dealer, _ = _driver_with_car(make)
    make.grant(customer, dealer, "service_reminders")
    me = visit(customer.email)
    confirm = me.get("/me/data/erase")
    assert confirm.status_code == 200 and "What is kept, and why" in confirm.text

    unconfirmed = me.post("/me/data/erase", {})
    assert unconfirmed.status_code == 422
    session.expire_all()
    assert session.get(Customer, customer.id).erased_at is None

    report = me.post("/me/data/erase", {"confirm": "erase"})
    assert report.status_code == 200
    assert "You have been erased" in report.text and "Kept, without your name" in report.text
    assert "Service records" in report.text
    cookie = report.headers["set-cookie"]
    assert cookie.startswith("fc_session=") and ("Max-Age=0" in cookie or "expires=" in cookie.lower())
    assert "Log out" not in report.text

    session.expire_all()
    assert session.get(Customer, customer.id).erased_at is not None
    assert me.client.get("/me", follow_redirects=False).headers["location"].startswith("/login")
    assert submit_login(visit(None).client, customer.email, "correct-horse-battery",
                        follow_redirects=False).status_code == 400


def test_portal_pages_do_not_exist_for_staff(make, visit):
    rep = make.staff(make.dealer())
    staff = visit(rep.email)
    for url in ("/me", "/me/profile", "/me/privacy", "/me/access-log", "/me/data", "/me/data/export"):
        response = staff.get(url)
        assert response.status_code == 404, url
        assert "Not found" in response.text


def test_portal_sends_strangers_to_the_login(visit):
    response = visit(None).client.get("/me/privacy", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/me/privacy"


def test_login_and_signup_forms_refuse_posts_from_other_sites(make, client):
    """Without the signed token from our own form (what a foreign page cannot read), nothing happens."""
    customer = make.customer()
    make.session.commit()
    forged = client.post("/login", data={"email": customer.email, "password": "correct-horse-battery"},
                         follow_redirects=False)
    assert forged.status_code == 403 and "fc_session" not in client.cookies
    # a token read by another visitor does not match this browser's nonce
    from fastapi.testclient import TestClient

    from tests.factories import form_token_of

    with TestClient(client.app, base_url="http://testserver") as other:
        token_of_other = form_token_of(other)
    client.get("/login")
    replayed = client.post("/login", data={"email": customer.email, "password": "correct-horse-battery",
                                           "form_token": token_of_other}, follow_redirects=False)
    assert replayed.status_code == 403
    signup = client.post("/signup", data={"email": "new@forecourt.example", "password": "long-enough-pass",
                                          "first_name": "N", "last_name": "W"}, follow_redirects=False)
    assert signup.status_code == 403
    assert submit_login(client, customer.email, "correct-horse-battery", follow_redirects=False).status_code == 303


def test_a_korean_customer_reads_the_notice_in_korean_and_the_receipt_says_so(make, visit, session):
    customer, dealer, _ = _driver_with_car(make)
    customer.language = "ko"
    me = visit(customer.email)
    notice = consent_service.current_notice(session=session)
    korean = consent_service.notice_text(session=session, version=notice.version, language="ko")
    page = me.get("/me/privacy").text
    assert '<html lang="ko">' in page and str(escape(korean.title)) in page and str(escape(korean.body)) in page
    assert notice.body not in page and 'id="notice-in-english"' not in page
    assert 'name="notice_language" value="ko"' in page

    given = me.post(f"/me/privacy/{dealer.id}/sales_contact",
                    {"allow": "yes", "notice_version": str(notice.version), "notice_language": "ko"})
    assert given.status_code == 303
    (receipt,) = consent_service.ledger_of(session=session, customer_id=customer.id)
    assert (receipt.notice_version, receipt.language) == (notice.version, "ko")
