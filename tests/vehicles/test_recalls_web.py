"""Recalls over HTTP: the carmaker's API and pages, a dealer's check-in and remedy, the owner's inbox."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from forecourt.core.auth import Role
from tests.factories import browser_for, csrf_token_of
from tests.vehicles.recall_scene import booked_in, build, campaign_json


@pytest.fixture
def scene(make):
    scene = build(make)
    make.session.commit()
    return scene


def test_open_a_campaign_over_the_api_and_read_its_progress(client, scene, make):
    response = client.post("/api/admin/recalls", headers=scene.admin.headers, json=campaign_json(scene, "RC-API-1"))
    assert response.status_code == 201, response.text
    assert response.json() == {"code": "RC-API-1", "affected": 4, "notified": 4, "owner_unknown": 0}
    advisor = make.staff(make.dealer(name="Gamma Garage"), Role.DEALER_SERVICE)
    vin = scene.cars["a1_mid"].vin
    flags = client.get(f"/api/recalls/check/{vin}", headers=advisor.headers).json()
    assert [f["message"] for f in flags["open_recalls"]] == ["This car has an open recall: Brake hose may chafe (high)"]
    # any dealer of the network carries out recalls, but only on a car it has a relationship with
    body = {"vin": vin, "performed_on": date.today().isoformat(), "odometer_km": 18000}
    assert client.post("/api/recalls/RC-API-1/remedies", headers=advisor.headers, json=body).status_code == 404
    booked_in(scene, "a1_mid", advisor.organization_id)
    booked_in(scene, "b1_mid", advisor.organization_id)
    remedy = client.post("/api/recalls/RC-API-1/remedies", headers=advisor.headers,
                         json={"vin": vin, "performed_on": date.today().isoformat(), "odometer_km": 18000})
    assert remedy.status_code == 201, remedy.text
    assert remedy.json()["kind"] == "recall"
    assert client.get(f"/api/recalls/check/{vin}", headers=advisor.headers).json()["open_recalls"] == []
    again = client.post("/api/recalls/RC-API-1/remedies", headers=advisor.headers,
                        json={"vin": vin, "performed_on": date.today().isoformat(), "odometer_km": 18000})
    assert again.status_code == 409 and "already remedied" in again.text
    outside = client.post("/api/recalls/RC-API-1/remedies", headers=advisor.headers,
                          json={"vin": scene.cars["b1_mid"].vin, "performed_on": date.today().isoformat(),
                                "odometer_km": 100})
    assert outside.status_code == 422 and "not affected" in outside.text
    progress = client.get("/api/admin/recalls/RC-API-1", headers=scene.admin.headers).json()
    assert (progress["affected"], progress["notified"], progress["remedied"]) == (4, 4, 1)
    assert progress["per_dealer"] == [{"dealer_id": advisor.organization_id, "dealer": "Gamma Garage", "remedied": 1}]
    assert progress["over_time"][-1]["remedied"] == 1
    listed = client.get("/api/admin/recalls", headers=scene.admin.headers).json()
    assert any(c["code"] == "RC-API-1" and c["completion"] == 0.25 for c in listed)
    # the campaign's answers name no owner
    for owner in scene.owners.values():
        assert owner.email not in str(progress) and owner.email not in str(flags)


@pytest.mark.parametrize(("change", "field"), [
    ({"scopes": []}, "scopes"),
    ({"scopes": [{}]}, "scopes"),
    ({"scopes": [{"vin_from": "WFC12345678901234"}]}, "scopes"),
    ({"scopes": [{"produced_from": "2024-01-01", "produced_to": "2023-01-01"}]}, "scopes"),
    ({"severity": "catastrophic"}, "severity"),
    ({"labour_minutes": 0}, "labour_minutes"),
    ({"owner_id": 4}, "owner_id"),
    ({"scopes": [{"model_code": "NOPE"}]}, "scopes"),
])
def test_bad_campaigns_are_refused_with_422(client, scene, change, field):
    response = client.post("/api/admin/recalls", headers=scene.admin.headers,
                           json=campaign_json(scene, "RC-BAD") | change)
    assert response.status_code == 422, response.text
    assert field in str(response.json()["detail"][0]["loc"])


def test_bad_remedies_are_refused_with_422(client, scene, make):
    client.post("/api/admin/recalls", headers=scene.admin.headers, json=campaign_json(scene, "RC-R422"))
    advisor = make.staff(make.dealer(), Role.DEALER_SERVICE)
    vin = scene.cars["a1_mid"].vin
    booked_in(scene, "a1_mid", advisor.organization_id)
    for body in ({"vin": vin, "performed_on": "yesterday", "odometer_km": 1},
                 {"vin": vin, "performed_on": date.today().isoformat(), "odometer_km": -1},
                 {"vin": vin, "performed_on": (date.today() + timedelta(days=3)).isoformat(), "odometer_km": 1}):
        assert client.post("/api/recalls/RC-R422/remedies", headers=advisor.headers, json=body).status_code == 422
    assert client.post("/api/recalls/RC-NONE/remedies", headers=advisor.headers,
                       json={"vin": vin, "performed_on": date.today().isoformat(), "odometer_km": 1}).status_code == 404


def test_admin_pages_count_open_and_chart_a_campaign(client, scene, make, session):
    browser = browser_for(make, scene.admin)
    page = browser.get("/admin/recalls")
    assert page.status_code == 200 and "No recall campaigns" in page.text
    form = browser.get("/admin/recalls/new")
    assert form.status_code == 200 and scene.models["A"].code in form.text
    token = csrf_token_of(session, browser)
    values = {"csrf_token": token, "code": "RC-PAGE-1", "title": "Brake hose may chafe", "severity": "high",
              "remedy": "Fit a new brake hose.", "labour_minutes": "45", "description": "It can leak.",
              "scope0_model_code": scene.models["B"].code}
    counted = browser.post("/admin/recalls", data=values | {"action": "count"})
    assert counted.status_code == 200 and re.search(r"affect <strong>2</strong> cars", counted.text)
    bad = browser.post("/admin/recalls", data=values | {"action": "open", "scope0_model_code": "",
                                                        "scope0_vin_from": "WFC12345678901234"})
    assert bad.status_code == 422 and "check digit" in bad.text
    opened = browser.post("/admin/recalls", data=values | {"action": "open"}, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"].startswith("/admin/recalls/RC-PAGE-1")
    dashboard = browser.get(opened.headers["location"])
    assert dashboard.status_code == 200
    assert 'id="completion-chart"' in dashboard.text and 'class="completion-line"' in dashboard.text
    assert re.search(r'id="affected">2<', dashboard.text) and re.search(r'id="owner-unknown">1 ', dashboard.text)
    assert "2 cars affected, 1 owners told" in dashboard.text
    listing = browser.get("/admin/recalls")
    assert "RC-PAGE-1" in listing.text and "<svg class=\"completion\"" in listing.text
    for owner in scene.owners.values():
        assert owner.email not in dashboard.text and owner.last_name not in dashboard.text


def test_the_owner_reads_the_notice_in_the_inbox_and_sees_it_on_the_car(client, scene, make, session):
    client.post("/api/admin/recalls", headers=scene.admin.headers, json=campaign_json(scene, "RC-OWN"))
    owner = scene.owners["a2_mid"]
    login = make.customer_login(owner)
    api = client.get("/api/me/messages", headers=login.headers).json()
    assert api["unread"] == 1 and api["messages"][0]["topic"] == "recall"
    number = api["messages"][0]["id"]
    browser = browser_for(make, login)
    inbox = browser.get("/me/messages")
    assert inbox.status_code == 200 and "1 unread message." in inbox.text
    assert "Brake hose may chafe" in inbox.text and "whatever your marketing choices" in inbox.text
    car = browser.get(f"/me/vehicles/{scene.cars['a2_mid'].vin}")
    assert car.status_code == 200 and "Open recall: Brake hose may chafe" in car.text
    # another owner cannot mark it read; the owner can
    stranger = make.customer_login(scene.owners["b1_mid"])
    assert client.post(f"/api/me/messages/{number}/read", headers=stranger.headers).status_code == 404
    read = browser.post(f"/me/messages/{number}/read", data={"csrf_token": csrf_token_of(session, browser)},
                        follow_redirects=False)
    assert read.status_code == 303
    assert client.get("/api/me/messages", headers=login.headers).json()["unread"] == 0
    assert "Nothing unread." in browser.get("/me/messages").text
