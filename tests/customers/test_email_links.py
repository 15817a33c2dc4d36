"""An anonymous form never speaks for the owner of an e-mail address; a link sent to the address does.

Before, a lead form with "allow contact" ticked for an address nobody had verified recorded a
``sales_contact`` grant, and the real person's sign-up then failed with 409 ("a customer with this
e-mail already exists"), which also told anyone who is a customer: they could never log in to
export, erase or withdraw. Now the grant waits for a confirmation link, and signing up sends a link
to set a password whatever the address, with one and the same answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.consent import service as consent_service
from forecourt.core import auth
from forecourt.core.clock import advance, frozen_at
from forecourt.core.outbox import OutboxMessage
from forecourt.customers import email_links
from forecourt.customers.models import Customer, EmailLink
from forecourt.core.auth import Role
from forecourt.parties import service as parties_service
from forecourt.parties.models import User
from forecourt.sales import intake
from tests.factories import PASSWORD, browser_for, fast_password_hashing, form_token_of  # noqa: F401

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VICTIM = "mara.kowalski@mail.example"


@pytest.fixture(autouse=True)
def monday():
    with frozen_at(MONDAY):
        yield


def link_sent(session, email: str, topic: str) -> str:
    """The path of the newest link e-mailed to this address (as the outbox holds it until sent)."""
    session.expire_all()
    customer = session.scalars(select(Customer).where(Customer.email == email)).one()
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == customer.id,
                                                          OutboxMessage.topic == topic)
                              .order_by(OutboxMessage.id.desc())).first()
    assert message is not None and message.channel == "email", f"no {topic} e-mail to {email}"
    return message.link


def lead_form(client, **values):
    body = {"first_name": "Mara", "last_name": "Kowalski", "email": VICTIM, "wants": "call",
            "allow_contact": True} | values
    return client.post("/api/leads", json=body)


def sign_up(client, email: str = VICTIM):
    return client.post("/api/auth/signup", json={"email": email, "first_name": "Mara", "last_name": "Kowalski"})


def follow_claim(make, path: str, password: str = "a-password-of-my-own"):
    browser = browser_for(make)
    page = browser.get(path)
    assert page.status_code == 200, page.text
    token = form_token_of(browser, path)
    return browser.post(path, data={"password": password, "password_again": password, "form_token": token},
                        follow_redirects=False)


# --- attack 5: the anonymous lead form --------------------------------------------------------------------

def test_an_anonymous_allow_contact_gives_no_grant_until_the_address_confirms(make, client, session):
    dealer = make.dealer()
    answer = lead_form(client, dealer_id=dealer.id)
    assert answer.status_code == 201, answer.text
    assert answer.json()["contact_allowed"] is False and answer.json()["confirmation_requested"] is True
    customer = session.scalars(select(Customer).where(Customer.email == VICTIM)).one()
    assert consent_service.active_grant(session=session, customer_id=customer.id, organization_id=dealer.id,
                                        purpose_code="sales_contact") is None
    assert consent_service.ledger_of(session=session, customer_id=customer.id) == []

    path = link_sent(session, VICTIM, "contact_confirmation")
    browser = browser_for(make)
    page = browser.get(path)
    assert page.status_code == 200 and dealer.name in page.text
    assert consent_service.ledger_of(session=session, customer_id=customer.id) == [], "opening a link gave consent"
    done = browser.post(path, data={"form_token": form_token_of(browser, path)})
    assert done.status_code == 200 and "may now contact you" in done.text
    session.expire_all()
    assert consent_service.active_grant(session=session, customer_id=customer.id, organization_id=dealer.id,
                                        purpose_code="sales_contact") is not None
    [receipt] = consent_service.ledger_of(session=session, customer_id=customer.id)
    assert (receipt.state, receipt.method, receipt.organization_id) == ("granted", "double_opt_in_email", dealer.id)
    # a link works once
    assert browser.get(path).status_code == 404


def test_a_logged_in_customer_allows_contact_at_once(make, client, session):
    dealer, customer = make.dealer(), make.customer(email="dana@mail.example")
    me = make.customer_login(customer)
    answer = client.post("/api/leads", headers=me.headers, json={
        "first_name": "Dana", "last_name": customer.last_name, "email": customer.email, "wants": "call",
        "dealer_id": dealer.id, "allow_contact": True})
    assert answer.json()["contact_allowed"] is True and answer.json()["confirmation_requested"] is False
    receipt = consent_service.ledger_of(session=session, customer_id=customer.id)[-1]
    assert (receipt.method, receipt.organization_id) == ("lead_form", dealer.id)


# --- attack 5: the sign-up that answered 409 --------------------------------------------------------------

def test_signing_up_answers_the_same_whoever_owns_the_address(make, client, session):
    make.dealer()
    lead_form(client)  # a stranger's lead made VICTIM a customer record without a login
    with_login = make.customer(email="has.login@mail.example")
    staff = parties_service.create_user(session=session, email="rep@dealer.example", password=PASSWORD,
                                        display_name="Rep", role=Role.DEALER_SALES,
                                        organization_id=make.dealer().id)
    session.commit()
    answers = {name: sign_up(client, email) for name, email in (
        ("unknown", "someone.new@mail.example"), ("customer record without login", VICTIM),
        ("customer with a login", with_login.email), ("staff", staff.email))}
    assert {(r.status_code, r.text) for r in answers.values()} == {
        (202, '{"detail":"Check your e-mail: we have sent a link to set your password. It works for 24 hours."}')}
    # the record is claimed through a link to its own address, never through the form
    assert link_sent(session, VICTIM, "account_link").startswith("/account/claim/")
    assert link_sent(session, with_login.email, "account_link").startswith("/account/claim/")
    assert session.scalar(select(func.count(User.id)).where(User.email == VICTIM)) == 0


def test_the_real_person_claims_the_record_and_then_exports_erases_or_withdraws(make, client, session):
    dealer = make.dealer()
    lead_form(client, dealer_id=dealer.id)
    customer_id = session.scalars(select(Customer.id).where(Customer.email == VICTIM)).one()
    sign_up(client)
    claimed = follow_claim(make, link_sent(session, VICTIM, "account_link"))
    # signed in at once: the link proved the address, the form chose the password
    assert claimed.status_code == 303 and claimed.headers["location"].startswith("/me?flash=")
    assert claimed.headers["set-cookie"].startswith("fc_session=")

    login = client.post("/api/auth/token", json={"email": VICTIM, "password": "a-password-of-my-own"})
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert client.get("/api/me", headers=headers).json()["id"] == customer_id
    assert client.get("/api/me/export", headers=headers).status_code == 200
    # the contact link from the lead form is still hers to follow; she withdraws instead
    assert client.delete(f"/api/me/consents/{dealer.id}/sales_contact", headers=headers).status_code == 204
    assert client.post("/api/me/erase", headers=headers).status_code == 200


def test_claiming_an_account_that_has_a_login_replaces_the_password_and_ends_its_sessions(make, client, session):
    customer = make.customer(email="has.login@mail.example")
    old = make.customer_login(customer)
    sign_up(client, customer.email)
    assert follow_claim(make, link_sent(session, customer.email, "account_link")).status_code == 303
    assert client.get("/api/me", headers=old.headers).status_code == 401
    assert client.post("/api/auth/token", json={"email": customer.email, "password": PASSWORD}).status_code == 422
    assert client.post("/api/auth/token", json={"email": customer.email,
                                                "password": "a-password-of-my-own"}).status_code == 200


# --- the links themselves ----------------------------------------------------------------------------------

def test_links_keep_only_a_digest_work_once_and_expire(make, client, session):
    sign_up(client)
    path = link_sent(session, VICTIM, "account_link")
    token = path.rsplit("/", 1)[1]
    link = session.scalars(select(EmailLink)).one()
    assert link.digest == auth.token_digest(token) and link.kind == "claim"
    assert session.scalar(select(func.count(EmailLink.id)).where(EmailLink.digest == token)) == 0
    assert browser_for(make).get("/account/claim/" + auth.new_token()).status_code == 404
    # a second request within minutes sends no second e-mail (a form cannot flood an inbox)
    sign_up(client)
    assert session.scalar(select(func.count(EmailLink.id))) == 1
    advance(timedelta(hours=25))
    assert browser_for(make).get(path).status_code == 404
    sign_up(client)  # a new request, a new link; the old one stays dead
    fresh = link_sent(session, VICTIM, "account_link")
    assert fresh != path and follow_claim(make, fresh).status_code == 303
    assert browser_for(make).get(fresh).status_code == 404


def test_a_short_or_mismatched_password_is_refused_in_words(make, client, session):
    sign_up(client)
    path = link_sent(session, VICTIM, "account_link")
    browser = browser_for(make)
    browser.get(path)
    short = browser.post(path, data={"password": "short", "password_again": "short",
                                     "form_token": form_token_of(browser, path)})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    differ = browser.post(path, data={"password": "long-enough-one", "password_again": "long-enough-two",
                                      "form_token": form_token_of(browser, path)})
    assert differ.status_code == 422 and "differ" in differ.text
    assert session.scalar(select(func.count(User.id)).where(User.email == VICTIM)) == 0
    assert follow_claim(make, path).status_code == 303  # the link still works after a refused try


def test_erasure_removes_the_links_and_export_lists_them_without_tokens(make, client, session):
    from forecourt.privacy import rights

    customer = make.customer(email="to.erase@mail.example")
    sign_up(client, customer.email)
    exported = rights.export(session=session, customer_id=customer.id)["email_links"]
    assert [(e["kind"], e["used_at"]) for e in exported] == [("claim", None)] and "digest" not in exported[0]
    rights.erase(session=session, customer_id=customer.id)
    assert session.scalar(select(func.count(EmailLink.id)).where(EmailLink.customer_id == customer.id)) == 0


def test_the_intake_service_never_grants_for_an_anonymous_form(make, session):
    dealer = make.dealer()
    taken = intake.take_lead(session=session, source=None, first_name="Mara", last_name="Kowalski", email=VICTIM,
                             phone=None, dealer_id=dealer.id, allow_contact=True)
    assert taken.contact_allowed is False and taken.confirmation_requested is True
    assert consent_service.grants_of(session=session, customer_id=taken.lead.customer_id) == []
    token = link_sent(session, VICTIM, "contact_confirmation").rsplit("/", 1)[1]
    grant = email_links.confirm_contact(session=session, token=token)
    assert (grant.organization_id, grant.purpose_code) == (dealer.id, "sales_contact")


# --- forgot password ---------------------------------------------------------------------------------------

def forgot(make, email: str):
    browser = browser_for(make)
    token = form_token_of(browser, "/account/forgot")
    return browser.post("/account/forgot", data={"email": email, "form_token": token})


def test_a_driver_who_forgot_the_password_gets_a_one_time_expiring_link(make, client, session):
    customer = make.customer(email="forgetful@mail.example")
    old = make.customer_login(customer)
    answer = forgot(make, "Forgetful@Mail.example")
    assert answer.status_code == 200 and 'id="reset-sent"' in answer.text
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == customer.id,
                                                          OutboxMessage.topic == "account_link")).one()
    assert message.subject == "Choose a new password for Forecourt" and "reset" in message.body
    token = message.link.rsplit("/", 1)[1]
    link = session.scalars(select(EmailLink).where(EmailLink.customer_id == customer.id)).one()
    assert link.digest == auth.token_digest(token) and link.expires_at == MONDAY + timedelta(hours=24)

    done = follow_claim(make, message.link, password="my-new-password-1")
    assert done.status_code == 303 and done.headers["location"].startswith("/me?flash=")
    assert client.get("/api/me", headers=old.headers).status_code == 401  # the old sessions end
    assert client.post("/api/auth/token", json={"email": customer.email,
                                                "password": "my-new-password-1"}).status_code == 200
    assert browser_for(make).get(message.link).status_code == 404  # once


def test_forgot_password_answers_the_same_for_unknown_and_staff_addresses(make, session):
    customer = make.customer(email="known@mail.example")
    make.customer_login(customer)
    staff = make.staff()
    answers = [forgot(make, email) for email in ("known@mail.example", "nobody@mail.example", staff.email)]
    assert len({a.status_code for a in answers}) == 1
    assert answers[0].text.count("a link to choose a new password is on its way") == \
        answers[1].text.count("a link to choose a new password is on its way") == 1
    assert session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.topic == "account_link")) == 1
