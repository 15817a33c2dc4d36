"""A partner's offers on web pages: create, change and withdraw through the form, errors beside their
field in the reader's language, the session's CSRF token required, another organization's offer 404."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from forecourt.engagement.models import Offer
from tests.engagement.scene import offer_in
from tests.factories import browser_for, csrf_token_of
from forecourt.engagement import offers


def form_of(**changes) -> dict:
    values = {"title": "Winter check", "body": "We look at tyres, lights and battery.",
              "purpose": "service_reminders", "occasion_kinds": ["service_due", "birthday_4"],
              "models": "", "markets": "de", "min_age_years": "2", "max_age_years": "8", "min_km": "",
              "max_km": "150000", "price": "49.90", "currency": "eur", "benefit": "",
              "valid_from": date.today().isoformat(), "valid_until": (date.today() + timedelta(days=60)).isoformat(),
              "action": "book_service", "action_code": "inspection", "relevance": "70"}
    return values | changes


def staff_browser(make, session, organization):
    browser = browser_for(make, make.staff(organization))
    return browser, csrf_token_of(session, browser)


def own_offers(session, organization) -> list[Offer]:
    session.expire_all()
    return list(session.scalars(select(Offer).where(Offer.organization_id == organization.id).order_by(Offer.id)))


def test_a_partner_creates_changes_and_withdraws_an_offer_through_the_form(make, session):
    dealer = make.dealer()
    browser, csrf = staff_browser(make, session, dealer)
    page = browser.get("/workspace/offers")
    assert page.status_code == 200 and 'action="/workspace/offers"' in page.text and 'name="min_km"' in page.text
    created = browser.post("/workspace/offers", data=form_of(csrf_token=csrf), follow_redirects=False)
    assert created.status_code == 303 and "flash=" in created.headers["location"]
    [offer] = own_offers(session, dealer)
    assert (offer.title, offer.markets, offer.min_age_years, offer.max_age_years, offer.max_km, str(offer.price),
            offer.currency, sorted(offer.occasion_kinds)) == (
        "Winter check", ["DE"], 2, 8, 150000, "49.90", "EUR", ["birthday_4", "service_due"])
    # the form to change it shows what it holds
    edit = browser.get(f"/workspace/offers/{offer.id}")
    assert edit.status_code == 200 and f'action="/workspace/offers/{offer.id}"' in edit.text
    assert 'value="Winter check"' in edit.text and 'value="150000"' in edit.text
    changed = browser.post(f"/workspace/offers/{offer.id}", follow_redirects=False,
                           data=form_of(csrf_token=csrf, title="Winter check, with coffee", price="",
                                        currency="", benefit="Free coffee"))
    assert changed.status_code == 303
    [offer] = own_offers(session, dealer)
    assert (offer.title, offer.price, offer.currency, offer.benefit) == (
        "Winter check, with coffee", None, None, "Free coffee")
    withdrawn = browser.post(f"/workspace/offers/{offer.id}/withdraw", data={"csrf_token": csrf},
                             follow_redirects=False)
    assert withdrawn.status_code == 303 and own_offers(session, dealer)[0].withdrawn_at is not None


def test_an_impossible_rule_is_refused_naming_the_field_in_the_readers_language(make, session):
    dealer = make.dealer()
    browser, csrf = staff_browser(make, session, dealer)
    refused = browser.post("/workspace/offers", data=form_of(csrf_token=csrf, min_age_years="9", max_age_years="3"))
    assert refused.status_code == 422
    assert 'id="e-max_age_years"' in refused.text and "lower bound is above the upper bound" in refused.text
    assert 'value="9"' in refused.text  # what was typed stays in the form
    german = browser.post("/workspace/offers", headers={"Accept-Language": "de"},
                          data=form_of(csrf_token=csrf, min_km="viel"))
    assert german.status_code == 422 and 'id="e-min_km"' in german.text
    assert "Geben Sie eine ganze Zahl an." in german.text and "Input should be" not in german.text
    korean = browser.post("/workspace/offers", headers={"Accept-Language": "ko"},
                          data=form_of(csrf_token=csrf, valid_until=(date.today() - timedelta(days=1)).isoformat(),
                                       valid_from=(date.today() - timedelta(days=9)).isoformat()))
    assert korean.status_code == 422 and 'id="e-valid_until"' in korean.text
    assert "앞으로의 날짜를 종료일로 선택해 주세요" in korean.text
    assert own_offers(session, dealer) == []


def test_the_form_needs_the_sessions_csrf_token(make, session):
    dealer = make.dealer()
    browser, _csrf = staff_browser(make, session, dealer)
    assert browser.post("/workspace/offers", data=form_of()).status_code == 403
    assert browser.post("/workspace/offers", data=form_of(csrf_token="forged")).status_code == 403
    assert own_offers(session, dealer) == []


def test_another_organizations_offer_does_not_exist_on_the_pages(make, session):
    dealer, other = make.dealer(), make.dealer()
    mine = offers.create(session=session, principal=make.principal(make.staff(dealer)), offer_in=offer_in())
    session.commit()
    browser, csrf = staff_browser(make, session, other)
    assert browser.get(f"/workspace/offers/{mine.id}").status_code == 404
    changed = browser.post(f"/workspace/offers/{mine.id}", data=form_of(csrf_token=csrf, title="Hijacked"))
    assert changed.status_code == 404
    assert browser.post(f"/workspace/offers/{mine.id}/withdraw", data={"csrf_token": csrf}).status_code == 404
    assert "Hijacked" not in browser.get("/workspace/offers").text
    [kept] = own_offers(session, dealer)
    assert (kept.title, kept.withdrawn_at) == (offer_in()["title"], None)
    # a driver has no offers pages at all
    driver = browser_for(make, make.customer_login(make.customer()))
    assert driver.get(f"/workspace/offers/{mine.id}", follow_redirects=False).status_code in (303, 404)
