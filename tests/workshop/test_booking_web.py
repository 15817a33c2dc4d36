"""The owner's service in the portal and the JSON API, and a dealer's free times."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.workshop import booking, proposals
from forecourt.workshop.models import Appointment, Availability
from tests.factories import browser_for, csrf_token_of
from tests.workshop.booking_scene import SUNDAY_NOON, WEEKDAYS, utc


@pytest.fixture(autouse=True)
def sunday_noon():
    with frozen_at(SUNDAY_NOON):
        yield


@pytest.fixture
def scene(make, session):
    shop = make.dealer(name="Autohaus Elbe", street="Elbchaussee 1", postcode="22763", city="Hamburg",
                       opening_hours=WEEKDAYS, service_bays=1)
    owner = make.customer()
    car = make.vehicle(owner=owner, dealer=shop)
    proposal = proposals.propose(session=session, vehicle_id=car.id, job="diagnosis",
                                 reason="Engine misfire (fault code P0301)", cause="dtc:P0301", dtc_codes=("P0301",))
    session.commit()
    return shop, owner, car, proposal, make.customer_login(owner)


def test_accept_over_the_api_holds_the_slot(client, session, scene):
    shop, owner, car, proposal, me = scene
    overview = client.get("/api/me/service", headers=me.headers).json()
    assert [p["id"] for p in overview["proposals"]] == [proposal.id]
    offered = overview["proposals"][0]["slots"]
    response = client.post(f"/api/me/service/proposals/{proposal.id}/accept", json={"slot_index": 0},
                           headers=me.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "confirmed" and body["dealer"]["street"] == "Elbchaussee 1"
    assert body["starts_at"].startswith(offered[0]["starts_at"][:16])
    overview = client.get("/api/me/service", headers=me.headers).json()
    assert overview["proposals"] == [] and [a["id"] for a in overview["appointments"]] == [body["id"]]


def test_a_time_just_taken_answers_409_in_words_with_fresh_times_that_stay(client, make, session, scene):
    shop, owner, car, proposal, me = scene
    first = proposals.slots_of(proposal)[0]
    booking.book(session=session, dealer_id=shop.id, vehicle_id=make.vehicle().id, customer_id=None, bay=1,
                 starts_at=first.starts_at, job="diagnosis", source="advisor")
    session.commit()
    response = client.post(f"/api/me/service/proposals/{proposal.id}/accept", json={"slot_index": 0},
                           headers=me.headers)
    assert response.status_code == 409
    assert response.json()["detail"][0]["msg"].startswith("That time was just taken; here are the next free ones")
    fresh = response.json()["slots"]
    assert fresh and fresh[0]["starts_at"] != first.starts_at.isoformat()
    session.expire_all()
    kept = client.get("/api/me/service", headers=me.headers).json()["proposals"][0]["slots"]
    assert [s["starts_at"][:16] for s in kept] == [s["starts_at"][:16] for s in fresh]


@pytest.mark.parametrize(("call", "words"), [
    (lambda c, car, shop: c.post("/api/me/service/proposals/{p}/accept", json={"slot_index": 42}),
     "Choose one of the offered times"),
    (lambda c, car, shop: c.put("/api/me/service/availability",
                                json={"windows": [{"weekday": 1, "from_time": "15:00", "to_time": "09:00"}]}),
     "the window must end after it begins"),
    (lambda c, car, shop: c.put("/api/me/service/availability",
                                json={"windows": [{"weekday": 9, "from_time": "08:00", "to_time": "09:00"}]}),
     "less than or equal to 6"),
    (lambda c, car, shop: c.post(f"/api/me/service/vehicles/{car.vin}/bookings", json={
        "job": "diagnosis", "dealer_id": shop.id, "bay": 1, "starts_at": utc(8, 9).isoformat()}),
     "Autohaus Elbe is closed on Sunday"),
    (lambda c, car, shop: c.post(f"/api/me/service/vehicles/{car.vin}/bookings", json={
        "job": "diagnosis", "dealer_id": shop.id, "bay": 1, "starts_at": utc(1, 9).isoformat()}),
     "That time has already passed"),
    (lambda c, car, shop: c.post(f"/api/me/service/vehicles/{car.vin}/bookings", json={
        "job": "wash", "dealer_id": shop.id, "bay": 1, "starts_at": utc(2, 9).isoformat()}),
     "Unknown job 'wash'"),
    (lambda c, car, shop: c.get(f"/api/me/service/vehicles/{car.vin}/slots", params={"job": "wash"}),
     "Unknown job 'wash'"),
])
def test_bad_input_is_422_in_words(client, scene, call, words):
    shop, owner, car, proposal, me = scene

    class Signed:  # the owner's client, with the proposal's id filled into the path
        def __getattr__(self, verb):
            def send(url, **kwargs):
                return getattr(client, verb)(url.replace("{p}", str(proposal.id)), headers=me.headers, **kwargs)
            return send

    response = call(Signed(), car, shop)
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"][0]["msg"]


def test_the_owner_books_their_own_car_and_cancels(client, session, scene):
    shop, owner, car, proposal, me = scene
    offer = client.get(f"/api/me/service/vehicles/{car.vin}/slots", params={"job": "tyres"}, headers=me.headers)
    assert offer.status_code == 200 and offer.json()["dealer"]["id"] == shop.id
    slot = offer.json()["slots"][0]
    booked = client.post(f"/api/me/service/vehicles/{car.vin}/bookings", headers=me.headers, json={
        "job": "tyres", "dealer_id": shop.id, "bay": slot["bay"], "starts_at": slot["starts_at"]})
    assert booked.status_code == 201, booked.text
    again = client.post(f"/api/me/service/vehicles/{car.vin}/bookings", headers=me.headers, json={
        "job": "tyres", "dealer_id": shop.id, "bay": slot["bay"], "starts_at": slot["starts_at"]})
    assert again.status_code == 409 and "just taken" in again.json()["detail"][0]["msg"]
    cancelled = client.post(f"/api/me/service/bookings/{booked.json()['id']}/cancel", headers=me.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    rebooked = client.post(f"/api/me/service/vehicles/{car.vin}/bookings", headers=me.headers, json={
        "job": "tyres", "dealer_id": shop.id, "bay": slot["bay"], "starts_at": slot["starts_at"]})
    assert rebooked.status_code == 201


def test_the_dealer_sees_its_own_free_times_and_no_customer(client, make, session, scene):
    shop, owner, car, proposal, me = scene
    booking.book(session=session, dealer_id=shop.id, vehicle_id=car.id, customer_id=owner.id, bay=1,
                 starts_at=utc(2, 8), job="inspection", source="owner")
    session.commit()
    advisor = make.staff(shop, Role.DEALER_SERVICE)
    response = client.get("/api/workshop/slots", params={"job": "diagnosis", "days": 2}, headers=advisor.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["dealer_id"] == shop.id and body["duration_minutes"] == 60
    assert body["slots"][0]["starts_at"].startswith(utc(2, 10).isoformat()[:16])
    assert owner.email not in response.text and car.vin not in response.text


def test_the_portal_page_books_in_one_click_and_saves_availability(make, session, scene):
    shop, owner, car, proposal, me = scene
    browser = browser_for(make, me)
    page = browser.get("/me/service")
    assert page.status_code == 200
    assert "Engine misfire" in page.text and f'action="/me/service/proposals/{proposal.id}/accept"' in page.text
    assert 'href="/me/service"' in page.text  # the nav link
    token = csrf_token_of(session, browser)

    bad = browser.post("/me/service/availability", data={"csrf_token": token, "from_2": "16:00", "to_2": "09:00"})
    assert bad.status_code == 422 and "ends before it begins" in bad.text
    half = browser.post("/me/service/availability", data={"csrf_token": token, "from_2": "16:00"})
    assert half.status_code == 422 and "Give both times for Wednesday" in half.text
    saved = browser.post("/me/service/availability", data={"csrf_token": token, "from_2": "08:00", "to_2": "12:00"},
                         follow_redirects=False)
    assert saved.status_code == 303
    assert [(a.weekday, a.from_time, a.to_time) for a in session.scalars(
        select(Availability).where(Availability.customer_id == owner.id))] == [(2, "08:00", "12:00")]

    done = browser.post(f"/me/service/proposals/{proposal.id}/accept", data={"csrf_token": token, "slot_index": "0"},
                        follow_redirects=True)
    assert done.status_code == 200 and "The time is held for you" in done.text
    assert "Autohaus Elbe" in done.text and "Elbchaussee 1" in done.text
    appointment = session.scalars(select(Appointment).where(Appointment.customer_id == owner.id)).one()
    assert appointment.source == "proactive"

    page = browser.get(f"/me/service/book?vin={car.vin}&job=tyres")
    assert page.status_code == 200 and "Free times at Autohaus Elbe" in page.text
    other = browser.get("/me/service/book?vin=WFC00000000000000")
    assert other.status_code == 404


def test_the_app_wires_the_handlers_so_a_committed_fault_proposes(app, client, session_factory, session, make):
    from forecourt.core import events
    from forecourt.telematics.health import DtcAppeared
    from forecourt.workshop.models import Proposal

    shop = make.dealer(opening_hours=WEEKDAYS, service_bays=1)
    car = make.vehicle(owner=make.customer(), dealer=shop)
    session.commit()
    writer = session_factory()
    events.publish(writer, DtcAppeared(vehicle_id=car.id, code="P0171", description="Mixture too lean",
                                       severity="service_soon", needs_workshop=True))
    writer.commit()
    writer.close()
    assert session.scalars(select(Proposal.cause).where(Proposal.vehicle_id == car.id)).all() == ["dtc:P0171"]
