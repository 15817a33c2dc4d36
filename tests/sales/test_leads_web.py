"""Leads over HTTP: the public request form and API, and the rep's list and lead page."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from forecourt.core.outbox import OutboxMessage
from forecourt.customers import email_links
from forecourt.customers import service as customers_service
from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.sales.codes import display_code, new_code
from forecourt.sales.models import Configuration, Lead
from tests.factories import browser_for, csrf_token_of, fast_password_hashing, form_token_of  # noqa: F401

BERLIN = dict(city="Berlin", latitude=52.52, longitude=13.405)


def confirm_contact_by_email(session, email: str) -> None:
    customer = customers_service.find_by_email(session=session, email=email)
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == customer.id,
                                                          OutboxMessage.topic == "contact_confirmation")).one()
    email_links.confirm_contact(session=session, token=message.link.rsplit("/", 1)[1])
    session.commit()


def request_body(**values) -> dict:
    return {"first_name": "Timo", "last_name": "Web", "email": "timo.web@mail.example", "wants": "call"} | values


def lead_of(session, email: str) -> Lead:
    return session.scalars(select(Lead).where(Lead.email == email).order_by(Lead.id.desc())).first()


def test_the_api_takes_a_request_and_answers_only_where_it_went(make, client, session):
    dealer = make.dealer(name="Autohaus Spree", **BERLIN)
    response = client.post("/api/leads", json=request_body(postcode="10115"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["dealer_name"] == "Autohaus Spree" and body["routed_by"] == "location"
    assert body["routing_reason"].startswith("Nearest dealer with capacity: Autohaus Spree")
    assert body["contact_allowed"] is False and "once you allow them" in body["message"]
    assert set(body) == {"dealer_id", "dealer_name", "routed_by", "routing_reason", "contact_allowed",
                         "confirmation_requested", "message"}
    assert lead_of(session, "timo.web@mail.example").dealer_id == dealer.id


def test_bad_requests_are_422_with_words(make, client, session):
    make.dealer(**BERLIN)
    extra = client.post("/api/leads", json=request_body(score=99, customer_id=1))
    assert extra.status_code == 422
    assert {tuple(e["loc"]) for e in extra.json()["detail"]} == {("body", "score"), ("body", "customer_id")}
    unreachable = client.post("/api/leads", json=request_body(email=None, postcode="10115"))
    assert unreachable.status_code == 422
    assert "Give an e-mail address or a phone number" in unreachable.json()["detail"][0]["msg"]
    nowhere = client.post("/api/leads", json=request_body(postcode="00000"))
    assert nowhere.status_code == 422
    assert nowhere.json()["detail"][0] == {"loc": ["body", "postcode"], "type": "value_error",
                                           "msg": "We could not find this postcode or town. Check it, or choose a "
                                                  "dealer yourself."}
    typo = client.post("/api/leads", json=request_body(postcode="10115", configuration_code="7KQ2-M9XB"))
    assert typo.status_code == 422 and typo.json()["detail"][0]["loc"] == ["body", "configuration_code"]
    assert session.scalar(select(func.count(Lead.id))) == 0


def test_a_rep_sees_a_lead_only_after_the_customer_allows_it(make, client, session):
    dealer, other = make.dealer(**BERLIN), make.dealer(**BERLIN)
    rep, other_rep = make.staff(dealer, Role.DEALER_SALES), make.staff(other, Role.DEALER_SALES)
    assert client.post("/api/leads", json=request_body(dealer_id=dealer.id)).status_code == 201
    lead = lead_of(session, "timo.web@mail.example")
    page = client.get("/api/leads", headers=rep.headers).json()
    assert (page["items"], page["total"], page["waiting_for_permission"]) == ([], 0, 1)
    assert client.get(f"/api/leads/{lead.id}", headers=rep.headers).status_code == 404
    assert session.scalar(select(func.count(AccessLogEntry.id)).where(
        AccessLogEntry.customer_id == lead.customer_id)) == 0
    # the same e-mail asks again, ticking "allow contact": the request joins the first lead, but an
    # anonymous form cannot prove it is that person, so the tick alone gives the dealer nothing
    again = client.post("/api/leads", json=request_body(dealer_id=dealer.id, allow_contact=True,
                                                        message="Please call after 5 pm"))
    assert again.status_code == 201 and again.json()["contact_allowed"] is False
    assert client.get("/api/leads", headers=rep.headers).json()["waiting_for_permission"] == 1
    # the customer allows the dealer themselves (the portal's "Who can see my data")
    make.grant(customers_service.get(session=session, customer_id=lead.customer_id), dealer, "sales_contact")
    page = client.get("/api/leads", headers=rep.headers).json()
    assert [item["id"] for item in page["items"]] == [lead.id] and page["waiting_for_permission"] == 0
    detail = client.get(f"/api/leads/{lead.id}", headers=rep.headers).json()
    assert detail["email"] == "timo.web@mail.example" and detail["score_reasons"]
    assert any("Please call after 5 pm" in entry["text"] for entry in detail["timeline"])
    assert client.get(f"/api/leads/{lead.id}", headers=other_rep.headers).status_code == 404
    patched = client.patch(f"/api/leads/{lead.id}", headers=rep.headers, json={"status": "won"})
    assert patched.status_code == 422
    patched = client.patch(f"/api/leads/{lead.id}", headers=rep.headers, json={"status": "qualified"})
    assert patched.status_code == 200 and patched.json()["status"] == "qualified"
    assert client.post("/api/leads/rescore", headers=rep.headers).json() == {"rescored": 1}


def test_the_request_form_prefills_the_configuration_and_thanks_with_the_dealer_and_why(make, session):
    dealer = make.dealer(name="Autohaus am Ring", **BERLIN)
    trim = make.trim()
    configuration = Configuration(code=new_code(), trim_id=trim.id, option_codes=[], price_lines=[],
                                  base_price=trim.base_price, total_price=41250)
    session.add(configuration)
    session.commit()
    visitor = browser_for(make)
    form = visitor.get(f"/leads/new?code={configuration.code}&postcode=10115")
    assert form.status_code == 200
    assert display_code(configuration.code) in form.text and f'href="/c/{configuration.code}"' in form.text
    assert "Choose for me" in form.text and "Autohaus am Ring, Berlin · " in form.text
    assert "to contact me about this request" in form.text
    token = re.search(r'name="form_token" value="([^"]+)"', form.text).group(1)
    values = {"first_name": "Vera", "last_name": "Visitor", "email": "vera@mail.example", "postcode": "10115",
              "wants": "test_drive", "preferred_date": "2026-06-01", "dealer_id": "", "allow_contact": "yes",
              "configuration_code": configuration.code, "form_token": token}
    bad = visitor.post("/leads/new", data=values | {"email": "", "phone": ""})
    assert bad.status_code == 422 and "Give an e-mail address or a phone number" in bad.text
    thanks = visitor.post("/leads/new", data=values)
    assert thanks.status_code == 200, thanks.text
    assert "Autohaus am Ring" in thanks.text and "Nearest dealer with capacity" in thanks.text
    lead = lead_of(session, "vera@mail.example")
    assert (lead.source, lead.configuration_id, str(lead.preferred_date)) == ("test_drive", configuration.id,
                                                                              "2026-06-01")
    # without the form's token (another site posting the form) nothing is taken
    assert browser_for(make).post("/leads/new", data=values).status_code == 403


def test_the_rep_pages_list_explain_and_act(make, client, session):
    dealer = make.dealer(name="Autohaus Mitte", **BERLIN)
    rep = make.staff(dealer, Role.DEALER_SALES)
    for email, allow in (("ulla@mail.example", True), ("ulla.work@mail.example", True), ("hidden@mail.example", False)):
        client.post("/api/leads", json=request_body(email=email, last_name="Ulm", dealer_id=dealer.id,
                                                    allow_contact=allow, wants="test_drive"))
        if allow:  # the customer follows the link e-mailed to them
            confirm_contact_by_email(session, email)
    keep, duplicate = lead_of(session, "ulla@mail.example"), lead_of(session, "ulla.work@mail.example")
    browser = browser_for(make, rep)
    listing = browser.get("/workspace/leads")
    assert listing.status_code == 200
    assert "1 request waits for the customer" in listing.text and "hidden@mail.example" not in listing.text
    assert f'href="/workspace/leads/{keep.id}"' in listing.text and "Test-drive request" in listing.text
    assert "No lead matches these filters" in browser.get("/workspace/leads?source=event").text
    page = browser.get(f"/workspace/leads/{keep.id}")
    assert page.status_code == 200
    assert "Chosen by the customer: Autohaus Mitte." in page.text and "Too little history" in page.text
    assert f'action="/workspace/leads/{keep.id}/convert"' in page.text and "Create opportunity" in page.text
    assert f'<option value="{duplicate.id}">' in page.text  # offered as a merge candidate
    token = csrf_token_of(session, browser)
    done = browser.post(f"/workspace/leads/{keep.id}/status", data={"status": "contacted", "csrf_token": token},
                        follow_redirects=False)
    assert done.status_code == 303
    merged = browser.post(f"/workspace/leads/{keep.id}/merge", data={"duplicate_id": str(duplicate.id),
                                                                     "csrf_token": token}, follow_redirects=True)
    assert merged.status_code == 200 and f"Lead #{duplicate.id} merged into this one." in merged.text
    assert "ulla.work@mail.example" in merged.text  # the duplicate's history is on the kept lead
    session.refresh(duplicate)
    assert duplicate.status == "merged"
    itself = browser.post(f"/workspace/leads/{keep.id}/merge", data={"duplicate_id": str(keep.id),
                                                                     "csrf_token": token}, follow_redirects=True)
    assert "cannot be merged into itself" in itself.text
