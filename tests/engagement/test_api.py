"""The engagement routes refuse bad input with a clear answer and change nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from forecourt.engagement.models import Offer
from tests.api.routes.engagement import offer_json


def _offers(session) -> int:
    return session.scalar(select(func.count(Offer.id)))


def test_an_impossible_rule_is_refused_naming_the_field(make, client, session):
    rep = make.staff(make.dealer())
    before = _offers(session)
    response = client.post("/api/offers", headers=rep.headers,
                           json=offer_json() | {"min_km": 90_000, "max_km": 1_000})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "max_km"]
    assert "lower bound is above the upper bound" in response.json()["detail"][0]["msg"]
    assert _offers(session) == before


def test_unknown_fields_and_bad_types_are_refused(make, client, session):
    rep = make.staff(make.dealer())
    before = _offers(session)
    assert client.post("/api/offers", headers=rep.headers,
                       json=offer_json() | {"organization_id": 1}).status_code == 422
    assert client.post("/api/offers", headers=rep.headers, json=offer_json() | {"relevance": 101}).status_code == 422
    assert client.post("/api/offers", headers=rep.headers,
                       json=offer_json() | {"valid_until": "9999-12-31"}).status_code == 422
    assert _offers(session) == before


def test_a_partner_creates_its_own_offer_and_another_cannot_touch_it(make, client, session):
    rep, other = make.staff(make.dealer()), make.staff(make.dealer())
    created = client.post("/api/offers", headers=rep.headers, json=offer_json())
    assert created.status_code == 201, created.text
    offer_id = created.json()["id"]
    assert client.put(f"/api/offers/{offer_id}", headers=other.headers, json=offer_json()).status_code == 404
    assert client.post(f"/api/offers/{offer_id}/withdraw", headers=other.headers).status_code == 404
    assert client.get(f"/api/offers/{offer_id}", headers=rep.headers).json()["withdrawn"] is False


def test_a_stop_for_a_sender_the_driver_never_allowed_changes_nothing(make, client, session):
    from forecourt.consent import service as consent_service

    dealer = make.dealer()
    owner, stranger = make.customer(), make.customer()
    make.grant(owner, dealer, "service_reminders")
    page = make.customer_login(stranger)
    from tests.factories import browser_for, csrf_token_of

    browser = browser_for(make, page)
    response = browser.post("/me/offers/stop", data={"organization_id": str(dealer.id), "purpose": "service_reminders",
                                                     "csrf_token": csrf_token_of(session, browser)},
                            follow_redirects=False)
    assert response.status_code == 303 and "error=" in response.headers["location"]
    assert consent_service.active_grant(session=session, customer_id=owner.id, organization_id=dealer.id,
                                        purpose_code="service_reminders") is not None


def test_composition_refuses_an_unknown_occasion(make, client, session):
    from tests.factories import admin_login

    admin = admin_login(make)
    response = client.post("/api/admin/engagement/compositions", headers=admin.headers, json={"kind": "moon"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "kind"]
