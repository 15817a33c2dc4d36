"""The pre-arrival brief: each section appears only as far as the owner shares it with the dealer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.customers import service as customers_service
from forecourt.telematics.models import TwinSignal
from forecourt.workshop import booking
from forecourt.workshop import brief as brief_service
from tests.factories import Factory, Login, browser_for
from tests.workshop.booking_scene import SUNDAY_NOON, WEEKDAYS, utc


@dataclass
class Scene:
    dealer: object
    advisor: Login
    customer: object
    vehicle: object
    appointment: object


def twin(session, vehicle, values: dict, at: datetime) -> None:
    for path, value in values.items():
        session.merge(TwinSignal(vehicle_id=vehicle.id, path=path, value=value, measured_at=at))
    session.flush()


def advisor_scene(make: Factory, session, *, bays: int = 2, dtc_codes=("P0301",), bay: int = 1, day: int = 2,
                  hour: int = 9) -> Scene:
    """A Berlin dealer (weekdays 08-18), its advisor, an owner whose car is booked on Monday 2 June 09:00."""
    dealer = make.dealer(opening_hours=WEEKDAYS, service_bays=bays, latitude=52.52, longitude=13.405)
    advisor = make.staff(dealer, Role.DEALER_SERVICE)
    customer = make.customer(first_name="Greta", last_name=f"Garage{make.n()}", phone="+49 30 555 0101")
    vehicle = make.vehicle(owner=customer, dealer=dealer, registration="B-GG 101")
    make.service_record(vehicle, dealer, on=date(2025, 1, 10), odometer_km=21_000)
    appointment = booking.book(session=session, dealer_id=dealer.id, vehicle_id=vehicle.id, customer_id=customer.id,
                               bay=bay, starts_at=utc(day, hour), job="diagnosis", source="proactive",
                               reason="Engine warning P0301 since Saturday", dtc_codes=list(dtc_codes))
    session.commit()
    return Scene(dealer, advisor, customer, vehicle, appointment)


@pytest.fixture
def frozen():
    with frozen_at(SUNDAY_NOON):
        yield SUNDAY_NOON


def _log_rows(session, customer_id: int, purpose: str | None = None) -> int:
    query = select(func.count(AccessLogEntry.id)).where(AccessLogEntry.customer_id == customer_id)
    if purpose:
        query = query.where(AccessLogEntry.purpose_code == purpose)
    return session.scalar(query)


def _get(client, scene: Scene):
    return client.get(f"/api/advisor/appointments/{scene.appointment.id}/brief", headers=scene.advisor.headers)


def test_without_any_grant_the_brief_shows_only_the_car_and_the_job(make, session, client, frozen):
    scene = advisor_scene(make, session)
    response = _get(client, scene)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["car"]["vin"] == scene.vehicle.vin and body["car"]["propulsion"] == "electric"
    assert body["job"] == "Fault diagnosis" and body["bay"] == 1
    assert body["starts_at"].startswith("2025-06-02T09:00:00+02:00")
    assert body["shared"] == {"service": False, "health": False, "location": False}
    assert body["customer"] is None and body["preferences"] is None and body["services"] is None
    assert body["dtcs"] is None and body["eta"] is None and body["eta_text"] == "Position not shared"
    assert scene.customer.email not in response.text and scene.customer.last_name not in response.text
    assert _log_rows(session, scene.customer.id) == 0  # no personal data was read


def test_service_reminders_open_contact_history_and_preferences(make, session, client, frozen):
    scene = advisor_scene(make, session)
    customers_service.update_preferences(session=session, customer_id=scene.customer.id, changes=dict(
        radio_presets=["radioeins 95.8"], seat_position={"height": 4, "distance": 6}))
    make.grant(scene.customer, scene.dealer, "service_reminders")
    body = _get(client, scene).json()
    assert body["shared"] == {"service": True, "health": False, "location": False}
    assert body["customer"]["email"] == scene.customer.email and body["customer"]["phone"] == "+49305550101"  # stored as E.164
    assert body["preferences"]["radio_presets"] == ["radioeins 95.8"]
    assert [s["odometer_km"] for s in body["services"]] == [21_000]
    assert body["dtcs"] is None  # health is another purpose
    assert _log_rows(session, scene.customer.id, "service_reminders") == 1
    assert _log_rows(session, scene.customer.id) == 1


def test_health_sharing_adds_fault_codes_with_descriptions(make, session, client, frozen):
    scene = advisor_scene(make, session)
    twin(session, scene.vehicle, {"Vehicle.OBD.DTCList": ["P0301", "C0035"],
                                  "Vehicle.TraveledDistance": 23_456_000}, frozen - timedelta(minutes=20))
    make.grant(scene.customer, scene.dealer, "service_reminders")
    make.grant(scene.customer, scene.dealer, "vehicle_health_sharing")
    body = _get(client, scene).json()
    assert body["shared"]["health"] is True and body["shared"]["location"] is False
    codes = {d["code"]: d for d in body["dtcs"]}
    assert codes["P0301"]["description"] == "Cylinder 1 misfire detected"
    assert codes["P0301"]["booked"] and codes["P0301"]["active"]
    assert "wheel speed sensor" in codes["C0035"]["description"] and not codes["C0035"]["booked"]
    assert body["warranty"]["odometer_km"] == 23_456  # the car's own odometer, now that health is shared
    assert _log_rows(session, scene.customer.id, "vehicle_health_sharing") == 1


def test_location_services_give_an_eta_in_words(make, session, client, frozen):
    scene = advisor_scene(make, session)
    # about 8.1 km north of the dealer, measured 3 minutes ago
    twin(session, scene.vehicle, {"Vehicle.CurrentLocation.Latitude": 52.593,
                                  "Vehicle.CurrentLocation.Longitude": 13.405}, frozen - timedelta(minutes=3))
    make.grant(scene.customer, scene.dealer, "location_services")
    body = _get(client, scene).json()
    assert body["shared"] == {"service": False, "health": False, "location": True}
    assert body["eta"]["km"] == pytest.approx(8.1 * 1.3, abs=0.2)
    assert body["eta"]["minutes"] == round(body["eta"]["km"] / 40 * 60)
    assert body["eta_text"] == f"about {body['eta']['minutes']} min away (11 km), position 3 min old"
    assert body["customer"] is None  # location alone never opens contact details
    assert _log_rows(session, scene.customer.id, "location_services") == 1


def test_the_page_says_what_the_owner_did_not_share(make, session, client, frozen):
    scene = advisor_scene(make, session)
    make.grant(scene.customer, scene.dealer, "vehicle_health_sharing")
    twin(session, scene.vehicle, {"Vehicle.OBD.DTCList": ["P0301"]}, frozen)
    page = browser_for(make, scene.advisor).get(f"/workspace/service/appointments/{scene.appointment.id}")
    assert page.status_code == 200
    assert "Cylinder 1 misfire detected" in page.text
    assert page.text.count("Not shared by the owner") >= 3  # owner, preferences, services
    assert "Position not shared" in page.text
    assert scene.customer.email not in page.text


def test_another_dealers_advisor_gets_404_and_nothing_is_logged(make, session, client, frozen):
    scene = advisor_scene(make, session)
    for purpose in ("service_reminders", "vehicle_health_sharing", "location_services"):
        make.grant(scene.customer, scene.dealer, purpose)
    other = make.staff(make.dealer(), Role.DEALER_SERVICE)
    assert client.get(f"/api/advisor/appointments/{scene.appointment.id}/brief",
                      headers=other.headers).status_code == 404
    page = browser_for(make, other).get(f"/workspace/service/appointments/{scene.appointment.id}")
    assert page.status_code == 404 and scene.vehicle.vin not in page.text
    assert _log_rows(session, scene.customer.id) == 0
    # the owner and a partner do not reach it either
    me = make.customer_login(scene.customer)
    assert client.get(f"/api/advisor/appointments/{scene.appointment.id}/brief", headers=me.headers).status_code == 404


def test_withdrawal_closes_the_next_brief(make, session, client, frozen):
    scene = advisor_scene(make, session)
    make.grant(scene.customer, scene.dealer, "service_reminders")
    assert _get(client, scene).json()["customer"] is not None
    make.withdraw(scene.customer, scene.dealer, "service_reminders")
    assert _get(client, scene).json()["customer"] is None


def test_eta_words():
    class Dealer:
        latitude, longitude = 52.52, 13.405

    moment = datetime(2025, 6, 1, 10, 0)
    near = brief_service.eta(dealer=Dealer, latitude=52.5201, longitude=13.405, measured_at=moment, now=moment)
    assert near["text"] == "At the workshop (position just now)"
    far = brief_service.eta(dealer=Dealer, latitude=53.55, longitude=10.0, measured_at=moment - timedelta(hours=3),
                            now=moment)
    assert far["text"].startswith("about ") and " h " in far["text"] and far["text"].endswith("position 3 h old")
    assert far["stale"] is True
