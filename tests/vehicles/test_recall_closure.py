"""Ending a recall campaign: closed or superseded by the carmaker, with its completion figures frozen."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at, now
from forecourt.core.outbox import OutboxMessage
from forecourt.parties.models import AuditEntry
from forecourt.vehicles import recalls
from forecourt.vehicles.models import RecallCampaign
from tests.factories import browser_for, csrf_token_of
from tests.vehicles.recall_scene import booked_in, build, campaign_json


@pytest.fixture
def scene(make):
    scene = build(make)
    make.session.commit()
    return scene


def _open(client, scene, code: str, **changes) -> None:
    response = client.post("/api/admin/recalls", headers=scene.admin.headers,
                           json=campaign_json(scene, code) | changes)
    assert response.status_code == 201, response.text


def _remedy(client, scene, make, code: str, car: str) -> None:
    advisor = make.staff(make.dealer(), Role.DEALER_SERVICE)
    booked_in(scene, car, advisor.organization_id)
    response = client.post(f"/api/recalls/{code}/remedies", headers=advisor.headers,
                           json={"vin": scene.cars[car].vin, "performed_on": date.today().isoformat(),
                                 "odometer_km": 12000})
    assert response.status_code == 201, response.text


def test_closing_freezes_the_figures_and_stops_everything(client, scene, make, session):
    _open(client, scene, "RC-CL-1")
    _remedy(client, scene, make, "RC-CL-1", "a1_mid")
    advisor = make.staff(make.dealer(), Role.DEALER_SERVICE)
    close = {"outcome": "closed", "reason": "Every reachable owner was told three times."}
    assert client.post("/api/admin/recalls/RC-CL-1/close", headers=advisor.headers, json=close).status_code == 404
    response = client.post("/api/admin/recalls/RC-CL-1/close", headers=scene.admin.headers, json=close)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["outcome"], body["affected"], body["remedied"], body["open"]) == ("closed", 4, 1, 3)
    campaign = session.scalars(select(RecallCampaign).where(RecallCampaign.code == "RC-CL-1")).one()
    session.refresh(campaign)
    assert (campaign.affected_at_close, campaign.remedied_at_close, campaign.open_at_close) == (4, 1, 3)
    assert session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "recall.closed",
                                                                  AuditEntry.target == "recall:RC-CL-1")) == 1
    # a car joining the model later changes nothing of the final record
    scene.car("a1_after", "A1", 900, date(2023, 6, 16))
    recalls.match(session=session, campaign=campaign)
    session.commit()
    progress = client.get("/api/admin/recalls/RC-CL-1", headers=scene.admin.headers).json()
    assert (progress["affected"], progress["remedied"], progress["open"], progress["outcome"]) == (4, 1, 3, "closed")
    assert progress["closing_reason"] == "Every reachable owner was told three times."
    # no flags at check-in, no more remedies, no reminders, and it cannot be closed twice
    assert client.get(f"/api/recalls/check/{scene.cars['a2_mid'].vin}",
                      headers=advisor.headers).json()["open_recalls"] == []
    booked_in(scene, "a2_mid", advisor.organization_id)
    late = client.post("/api/recalls/RC-CL-1/remedies", headers=advisor.headers,
                       json={"vin": scene.cars["a2_mid"].vin, "performed_on": date.today().isoformat(),
                             "odometer_km": 1})
    assert late.status_code == 409 and "takes no more remedies" in late.text
    with frozen_at(now() + timedelta(days=40)):
        assert recalls.remind_owners(session=session)["reminded"] == 0
    assert session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.topic == "recall_reminder")) == 0
    again = client.post("/api/admin/recalls/RC-CL-1/close", headers=scene.admin.headers, json=close)
    assert again.status_code == 409 and "already closed" in again.text
    listed = client.get("/api/admin/recalls", headers=scene.admin.headers).json()
    assert next(c for c in listed if c["code"] == "RC-CL-1")["outcome"] == "closed"


def test_an_open_campaign_still_reminds(client, scene, session):
    """The other half of the test above: without closing, the same month brings reminders."""
    _open(client, scene, "RC-CL-R")
    with frozen_at(now() + timedelta(days=40)):
        assert recalls.remind_owners(session=session)["reminded"] == 4


def test_superseding_names_an_open_successor(client, scene, session):
    _open(client, scene, "RC-OLD")
    _open(client, scene, "RC-NEW", remedy="Fit the improved brake hose, part 2.")
    url = "/api/admin/recalls/RC-OLD/close"
    for body, words in (({"outcome": "superseded", "reason": "A better part."}, "replaces this one"),
                        ({"outcome": "superseded", "reason": "A better part.", "superseded_by": "RC-NOPE"},
                         "no campaign RC-NOPE"),
                        ({"outcome": "superseded", "reason": "A better part.", "superseded_by": "RC-OLD"},
                         "still open"),
                        ({"outcome": "closed", "reason": "     "}, "reason"),
                        ({"outcome": "cancelled", "reason": "A better part."}, "outcome"),
                        ({"outcome": "closed", "reason": "Done.", "owner_id": 1}, "owner_id")):
        refused = client.post(url, headers=scene.admin.headers, json=body)
        assert refused.status_code == 422 and words in refused.text, (body, refused.text)
    done = client.post(url, headers=scene.admin.headers,
                       json={"outcome": "superseded", "reason": "A better part.", "superseded_by": "rc-new"})
    assert done.status_code == 200, done.text
    assert (done.json()["outcome"], done.json()["superseded_by"], done.json()["open"]) == ("superseded", "RC-NEW", 4)
    car = scene.cars["a1_mid"]
    assert [c.code for c in recalls.open_recalls_for(session=session, vehicle_id=car.id)] == ["RC-NEW"]
    assert client.get("/api/admin/recalls/RC-OLD", headers=scene.admin.headers).json()["superseded_by"] == "RC-NEW"


def test_the_dashboard_closes_a_campaign_and_shows_it_closed(client, scene, make, session):
    _open(client, scene, "RC-CL-P")
    browser = browser_for(make, scene.admin)
    page = browser.get("/admin/recalls/RC-CL-P")
    assert page.status_code == 200 and 'id="close-campaign"' in page.text
    token = csrf_token_of(session, browser)
    refused = browser.post("/admin/recalls/RC-CL-P/close", data={"csrf_token": token, "outcome": "superseded",
                                                                 "reason": "A better part."})
    assert refused.status_code == 422 and "replaces this one" in refused.text
    done = browser.post("/admin/recalls/RC-CL-P/close", data={"csrf_token": token, "outcome": "closed",
                                                              "reason": "The part supplier fixed the batch."},
                        follow_redirects=False)
    assert done.status_code == 303
    page = browser.get(done.headers["location"])
    assert 'id="campaign-closed"' in page.text and "0 of 4 cars remedied and 4 still open" in page.text
    assert 'id="close-campaign"' not in page.text
    listing = browser.get("/admin/recalls")
    assert "RC-CL-P" in listing.text and ">closed<" in listing.text
    german = browser.get("/admin/recalls/RC-CL-P", headers={"Accept-Language": "de"})
    assert "Diese Zahlen sind eingefroren" in german.text
