"""The recall notice's one-click booking as JSON: the owner sees each open recall with its free times
(or the booking already made) and books one; the remedy's job time holds the bay. Anyone but the
car's owner gets 404, as if the car did not exist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from forecourt.core.clock import frozen_at
from forecourt.workshop.models import Appointment, BaySlot
from tests.workshop.booking_scene import SUNDAY_NOON, utc
from tests.workshop.test_recall_work import _scene


@pytest.fixture(autouse=True)
def sunday_noon():
    with frozen_at(SUNDAY_NOON):
        yield


def _first_slot(offer: dict) -> dict:
    slot = offer["slots"][0]
    return {"dealer_id": offer["dealer"]["id"], "bay": slot["bay"], "starts_at": slot["starts_at"]}


def test_the_owner_lists_and_books_the_remedy_through_the_api(make, client, session):
    shop, owner, car, campaign, me = _scene(make, session, "high")
    listed = client.get(f"/api/me/vehicles/{car.vin}/recalls", headers=me.headers)
    assert listed.status_code == 200
    (offer,) = listed.json()
    assert (offer["code"], offer["severity"], offer["critical"], offer["booked"]) == (campaign.code, "high", False, None)
    assert offer["dealer"]["name"] == "Autohaus Elbe" and offer["labour_minutes"] == 90
    assert offer["slots"][0]["starts_at"].startswith(utc(3, 14).isoformat()[:16])  # the owner's Tuesday window
    booked = client.post(f"/api/me/vehicles/{car.vin}/recalls/{campaign.code.lower()}/booking", headers=me.headers,
                         json=_first_slot(offer) | {"symptoms": ["noise", "braking"],
                                                    "symptom_notes": "A squeak when I brake."})
    assert booked.status_code == 201, booked.text
    body = booked.json()
    assert (body["job"], body["dealer"]["id"], body["symptoms"]) == ("recall", shop.id, ["noise", "braking"])
    appointment = session.scalars(select(Appointment).where(Appointment.vehicle_id == car.id)).one()
    assert appointment.recall_campaign_ids == [campaign.id] and appointment.symptom_notes == "A squeak when I brake."
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=90)
    assert session.scalar(select(func.count()).select_from(BaySlot)
                          .where(BaySlot.appointment_id == appointment.id)) == 3  # the bay for the whole job
    # the list now shows the booking instead of times; booking again is a conflict
    (again,) = client.get(f"/api/me/vehicles/{car.vin}/recalls", headers=me.headers).json()
    assert again["booked"]["id"] == appointment.id and again["slots"] == []
    twice = client.post(f"/api/me/vehicles/{car.vin}/recalls/{campaign.code}/booking", headers=me.headers,
                        json=_first_slot(offer))
    assert twice.status_code == 409 and "already booked" in twice.text


def test_a_critical_recall_offers_the_earliest_time_through_the_api(make, client, session):
    shop, owner, car, campaign, me = _scene(make, session, "critical")
    (offer,) = client.get(f"/api/me/vehicles/{car.vin}/recalls", headers=me.headers).json()
    assert offer["critical"] and offer["slots"][0]["starts_at"].startswith(utc(2, 8).isoformat()[:16])


def test_only_the_owner_books_and_bad_bodies_are_refused(make, client, session):
    shop, owner, car, campaign, me = _scene(make, session, "high")
    (offer,) = client.get(f"/api/me/vehicles/{car.vin}/recalls", headers=me.headers).json()
    stranger = make.customer_login(make.customer())
    url = f"/api/me/vehicles/{car.vin}/recalls/{campaign.code}/booking"
    assert client.get(f"/api/me/vehicles/{car.vin}/recalls", headers=stranger.headers).status_code == 404
    assert client.post(url, headers=stranger.headers, json=_first_slot(offer)).status_code == 404
    assert client.post(url, json=_first_slot(offer)).status_code == 401
    assert client.post(f"/api/me/vehicles/{car.vin}/recalls/RC-NOPE/booking", headers=me.headers,
                       json=_first_slot(offer)).status_code == 404
    assert client.post(url, headers=me.headers, json=_first_slot(offer) | {"customer_id": owner.id}).status_code == 422
    assert client.post(url, headers=me.headers, json=_first_slot(offer) | {"symptoms": ["gremlins"]}).status_code == 422
    taken_time = _first_slot(offer) | {"starts_at": utc(3, 3).isoformat()}  # the workshop is closed at 03:00
    assert client.post(url, headers=me.headers, json=taken_time).status_code in (409, 422)
    assert session.scalar(select(func.count(Appointment.id)).where(Appointment.vehicle_id == car.id)) == 0
