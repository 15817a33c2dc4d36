"""The driver's channels and frequency on the privacy page: the same service and schema as the API."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from forecourt.engagement import pressure
from tests.factories import browser_for, csrf_token_of


def stored(session, customer) -> tuple:
    session.expire_all()
    choice = pressure.choice_of(session=session, customer_id=customer.id)
    return choice.email, choice.per_month


def said(response) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def test_the_privacy_page_sets_the_choice_and_says_what_was_saved(make, session):
    driver = make.customer()
    browser = browser_for(make, make.customer_login(driver))
    page = browser.get("/me/privacy")
    assert page.status_code == 200 and 'id="contact-choice"' in page.text
    assert 'action="/me/privacy/contact-choice"' in page.text and 'name="email" id="choice-email" checked' in page.text
    csrf = csrf_token_of(session, browser)
    saved = browser.post("/me/privacy/contact-choice", data={"csrf_token": csrf, "per_month": "1"},
                         follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("#contact-choice")
    assert said(saved)["flash"] == "Saved. Offers reach you in the app only. At most 1 message a month."
    assert stored(session, driver) == (False, 1)
    # the app reads and writes the same choice
    app = make.customer_login(driver).headers
    assert make.client.get("/api/me/contact-choice", headers=app).json() == {"email": False, "per_month": 1}
    assert make.client.put("/api/me/contact-choice", headers=app,
                           json={"email": True, "per_month": None}).status_code == 200
    page = browser.get("/me/privacy")
    assert 'name="email" id="choice-email" checked' in page.text and 'value="usual" checked' in page.text
    # the inbox shows the choice and links to the privacy page
    inbox = browser.get("/me/offers")
    assert 'href="/me/privacy#contact-choice"' in inbox.text and "in the app and by e-mail" in inbox.text


def test_a_frequency_not_offered_is_refused_and_changes_nothing(make, session):
    driver = make.customer()
    browser = browser_for(make, make.customer_login(driver))
    csrf = csrf_token_of(session, browser)
    for bad in ("99", "-1", "two", "1e1"):
        refused = browser.post("/me/privacy/contact-choice", data={"csrf_token": csrf, "email": "on",
                                                                   "per_month": bad}, follow_redirects=False)
        assert refused.status_code == 303 and "Choose how often" in said(refused)["error"], bad
    assert stored(session, driver) == (True, None)
    shown = browser.get(refused.headers["location"])
    assert 'id="choice-error"' in shown.text
    assert browser.post("/me/privacy/contact-choice", data={"per_month": "0"}).status_code == 403  # no CSRF token
    assert stored(session, driver) == (True, None)
