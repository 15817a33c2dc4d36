"""The vehicle pages: the owner's car with its latest trip, live signals, health and score; staff behind
the consent door, section by section; a former owner after the sale; the carmaker's fleet health."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest

from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.customers import service as customers_service
from forecourt.telematics import devices, insights, score
from forecourt.telematics.health import fleet_health
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service
from tests.factories import admin_login
from tests.telematics.test_trips import NORTH, ORIGIN, leg, reading, send

DATA_TRIP = re.compile(r"data-trip='([^']*)'")
HOT_ENGINE = "Engine overheating"  # P0217, stop safely


def car_state(vehicle, moment, **more) -> list:
    signals = {"Vehicle__Diagnostics__DTCList": ["P0217"], "Vehicle__LowVoltageBattery__CurrentVoltage": 12.6,
               "Vehicle__TraveledDistance": 23_456_000,
               "Vehicle__Powertrain__TractionBattery__StateOfCharge__Displayed": 64.0,
               "Vehicle__Chassis__Axle__Row1__Wheel__Left__Tire__Pressure": 240.0,
               "Vehicle__Chassis__Axle__Row1__Wheel__Right__Tire__Pressure": 238.0} | more
    return [reading(vehicle, moment, **signals)]


def drive(session, vehicle, start, origin=ORIGIN, destination=NORTH) -> None:
    send(session, leg(vehicle, start, origin, destination, 600, ignition=True))
    insights.refresh_now(session=session, vehicle_ids=[vehicle.id])


@pytest.fixture
def owned(make, session):
    """A driver who allows the carmaker location services, with a car (On Call included) that drove and
    reported a fault."""
    carmaker = make.carmaker()
    owner = make.customer(first_name="Olivia", last_name=f"Owner{make.n()}")
    vehicle = make.vehicle(owner=owner, since=now() - timedelta(days=300))
    make.on_call(vehicle)
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    make.grant(owner, carmaker, "location_services")
    start = now() - timedelta(hours=2)
    drive(session, vehicle, start)
    send(session, car_state(vehicle, start + timedelta(seconds=700)))
    insights.refresh_now(session=session, vehicle_ids=[vehicle.id])
    return owner, vehicle


def trip_of(page) -> dict | None:
    found = DATA_TRIP.search(page.text)
    assert found, "the page carries no map data"
    return json.loads(html.unescape(found.group(1)))


def test_the_owner_sees_route_signals_health_and_score(owned, make, visit, session):
    owner, vehicle = owned
    me = visit(owner.email)
    cars = me.get("/me")
    assert f'href="/me/vehicles/{vehicle.vin}"' in cars.text

    page = me.get(f"/me/vehicles/{vehicle.vin}")
    assert page.status_code == 200
    trip = trip_of(page)
    assert trip["route"][0] == list(ORIGIN) and trip["route"][-1] == list(NORTH)
    assert trip["start"] == list(ORIGIN) and trip["end"] == list(NORTH)
    assert f'data-live-url="/me/vehicles/{vehicle.vin}/live"' in page.text
    # live signals in people's units: metres -> km, kPa -> bar
    assert "23\u202f456 km" in page.text and "12.6 V" in page.text and "64 %" in page.text
    assert "front left 2.4 bar" in page.text
    # health: the fault in plain words, and what to do
    assert HOT_ENGINE in page.text and "P0217" in page.text and "Stop safely" in page.text
    assert "do not drive on" in page.text
    # the 30-day score, each factor explained
    rolling = score.rolling_score(session=session, vehicle_id=vehicle.id)
    assert rolling.trips == 1
    for factor in rolling.factors:
        assert html.escape(factor.explanation) in page.text
    assert "11.1 km" in page.text  # the trip in the recent-trips table
    assert "Location services are off" not in page.text


def test_the_live_endpoint_returns_the_same_data_for_the_refresh(owned, visit):
    owner, vehicle = owned
    live = visit(owner.email).get(f"/me/vehicles/{vehicle.vin}/live")
    assert live.status_code == 200 and live.headers["cache-control"] == "no-store"
    body = live.json()
    assert body["trip"]["route"][-1] == list(NORTH)
    assert {s["key"] for s in body["signals"]} >= {"odometer", "battery", "charge", "tyres"}
    assert body["health"]["status"] == "stop_safely" and body["reported_at"]


def test_signals_are_labelled_in_the_drivers_language(make, session, visit):
    owner = make.customer(language="de")
    vehicle = make.vehicle(owner=owner)
    make.on_call(vehicle)
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    send(session, car_state(vehicle, now() - timedelta(minutes=5)))
    page = visit(owner.email).get(f"/me/vehicles/{vehicle.vin}")
    assert "Kilometerstand" in page.text and "Reifendruck" in page.text and "vorne links 2.4 bar" in page.text


def test_empty_states_explain_what_is_missing(make, visit):
    make.carmaker()
    owner = make.customer()
    vehicle = make.vehicle(owner=owner)
    make.on_call(vehicle)
    page = visit(owner.email).get(f"/me/vehicles/{vehicle.vin}")
    assert page.status_code == 200
    assert "Your car has not reported yet" in page.text
    assert "No trips yet — drive with location services allowed to see them here" in page.text
    # location services not granted to the carmaker: positions are not stored, and where to change it
    assert "Location services are off" in page.text and "positions are not stored" in page.text
    assert 'href="/me/privacy"' in page.text
    assert 'id="vehicle-map"' not in page.text


def test_another_customer_cannot_open_the_car(owned, make, visit):
    _, vehicle = owned
    stranger = make.customer()
    assert visit(stranger.email).get(f"/me/vehicles/{vehicle.vin}").status_code == 404
    assert visit(stranger.email).get(f"/me/vehicles/{vehicle.vin}/live").status_code == 404


def test_a_former_owner_sees_only_their_own_trips(make, session, visit):
    carmaker = make.carmaker()
    seller, buyer = make.customer(), make.customer()
    vehicle = make.vehicle(owner=seller, since=now() - timedelta(days=100))
    make.on_call(vehicle)  # On Call goes with the car: the buyer has the rest of the included years
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    make.grant(seller, carmaker, "location_services")
    make.grant(buyer, carmaker, "location_services")
    seller_drive = (52.40, 13.10), (52.45, 13.10)
    buyer_drive = (48.10, 11.50), (48.15, 11.50)
    drive(session, vehicle, now() - timedelta(hours=5), *seller_drive)
    vehicles_service.transfer(session=session, vehicle_id=vehicle.id, customer_id=buyer.id,
                              at=now() - timedelta(hours=3))
    drive(session, vehicle, now() - timedelta(hours=2), *buyer_drive)
    send(session, car_state(vehicle, now() - timedelta(minutes=30)))
    insights.refresh_now(session=session, vehicle_ids=[vehicle.id])

    page = visit(seller.email).get(f"/me/vehicles/{vehicle.vin}")
    assert page.status_code == 200
    assert "You sold this car" in page.text
    trip = trip_of(page)
    assert trip["route"][0] == list(seller_drive[0])
    assert "48.1" not in page.text, "the buyer's route leaked to the seller"
    assert HOT_ENGINE not in page.text and "23\u202f456 km" not in page.text  # the car now is the buyer's
    live = visit(seller.email).get(f"/me/vehicles/{vehicle.vin}/live").json()
    assert live["signals"] == [] and live["health"] is None and live["trip"]["route"][0] == list(seller_drive[0])

    mine = visit(buyer.email).get(f"/me/vehicles/{vehicle.vin}")
    assert trip_of(mine)["route"][0] == list(buyer_drive[0])
    assert "52.4" not in mine.text, "the seller's route leaked to the buyer"


def test_staff_see_only_what_the_purpose_covers(owned, make, visit, session):
    owner, vehicle = owned
    dealer = make.dealer()
    make.grant(owner, dealer, "sales_contact")
    rep = visit(make.staff(dealer, Role.DEALER_SALES).email)

    customer_page = rep.get(f"/workspace/customers/{owner.id}?purpose=sales_contact")
    assert f'href="/workspace/vehicles/{vehicle.vin}?purpose=sales_contact"' in customer_page.text

    page = rep.get(f"/workspace/vehicles/{vehicle.vin}?purpose=sales_contact")
    assert page.status_code == 200 and vehicle.vin in page.text
    assert 'id="vehicle-map"' not in page.text and "data-trip" not in page.text
    assert HOT_ENGINE not in page.text and "Driving score" not in page.text and "23\u202f456" not in page.text
    live = rep.get(f"/workspace/vehicles/{vehicle.vin}/live?purpose=sales_contact").json()
    assert live == {"reported_at": live["reported_at"], "reporting": live["reporting"], "signals": [], "position": None, "trip": None,
                    "health": None}

    # without a grant for the purpose read for, the car does not exist
    advisor = visit(make.staff(dealer, Role.DEALER_SERVICE).email)
    assert advisor.get(f"/workspace/vehicles/{vehicle.vin}?purpose=location_services").status_code == 404
    assert advisor.get(f"/workspace/vehicles/{vehicle.vin}?purpose=vehicle_health_sharing").status_code == 404

    make.grant(owner, dealer, "vehicle_health_sharing")
    health_page = advisor.get(f"/workspace/vehicles/{vehicle.vin}?purpose=vehicle_health_sharing")
    assert HOT_ENGINE in health_page.text and "12.6 V" in health_page.text
    assert 'id="vehicle-map"' not in health_page.text and "Driving score" not in health_page.text
    # granted to the dealer, but not the sales rep's work
    assert rep.get(f"/workspace/vehicles/{vehicle.vin}?purpose=vehicle_health_sharing").status_code == 404

    make.grant(owner, dealer, "location_services")
    map_page = advisor.get(f"/workspace/vehicles/{vehicle.vin}?purpose=location_services")
    assert trip_of(map_page)["route"][-1] == list(NORTH)
    assert HOT_ENGINE not in map_page.text and "12.6 V" not in map_page.text

    entries = [e for e in customers_service.access_log(session=session, customer_id=owner.id)
               if e["what"] == "vehicle page"]
    assert len(entries) >= 4  # every read, including the live refresh, is in the owner's access log


def test_an_insurer_with_driving_behaviour_consent_sees_the_score_only(owned, make, visit):
    owner, vehicle = owned
    insurer = make.partner("insurance")
    make.grant(owner, insurer, "driving_behaviour_insurance")
    analyst = visit(make.staff(insurer, Role.PARTNER_ANALYST).email)
    page = analyst.get(f"/workspace/vehicles/{vehicle.vin}?purpose=driving_behaviour_insurance")
    assert page.status_code == 200
    assert "Driving score, last 30 days" in page.text and "Recent trips" in page.text
    assert "data-trip" not in page.text and HOT_ENGINE not in page.text


def test_an_unsold_car_is_not_found_for_staff(make, visit):
    dealer = make.dealer()
    stock = make.vehicle()
    rep = visit(make.staff(dealer, Role.DEALER_SALES).email)
    assert rep.get(f"/workspace/vehicles/{stock.vin}?purpose=sales_contact").status_code == 404


def test_fleet_health_counts_cars_and_names_no_owner(owned, make, visit, session):
    owner, vehicle = owned
    fleet = fleet_health(session=session)
    assert fleet.counts["stop_safely"] >= 1
    admin = visit(admin_login(make).email)
    page = admin.get("/admin/fleet")
    assert page.status_code == 200
    assert 'href="/admin/fleet" aria-current="page"' in page.text
    for status, count in fleet.counts.items():
        assert f'data-status="{status}">{count}</span>' in page.text
    assert vehicle.vin in page.text and HOT_ENGINE in page.text
    assert owner.last_name not in page.text and owner.email not in page.text


def test_the_live_dot_shows_only_while_the_car_really_reports(owned, session, visit):
    """A car that last reported two hours ago is parked, not live; one that reported a minute ago is."""
    owner, vehicle = owned
    me = visit(owner.email)
    page = me.get(f"/me/vehicles/{vehicle.vin}")
    assert re.search(r'<span class="live-dot" id="live-dot"[^>]* hidden>', page.text)
    assert me.get(f"/me/vehicles/{vehicle.vin}/live").json()["reporting"] is False

    send(session, car_state(vehicle, now() - timedelta(seconds=30)))
    page = me.get(f"/me/vehicles/{vehicle.vin}")
    assert re.search(r'<span class="live-dot" id="live-dot"[^>]*>', page.text)
    assert not re.search(r'<span class="live-dot" id="live-dot"[^>]* hidden>', page.text)
    assert me.get(f"/me/vehicles/{vehicle.vin}/live").json()["reporting"] is True


def test_a_page_measures_only_the_open_trip_once_and_its_live_refresh_nothing(owned, session, visit, monkeypatch):
    """The closed trip's driving facts were kept as it closed; the open trip's are measured by the
    first view after its latest rebuild and kept; the live refresh (and each push of the stream)
    shows no score at all."""
    owner, vehicle = owned
    send(session, leg(vehicle, now() - timedelta(minutes=8), NORTH, ORIGIN, 600)[:49])  # moving a moment ago
    insights.refresh_now(session=session, vehicle_ids=[vehicle.id])
    measured = []
    real = score._measure
    monkeypatch.setattr(score, "_measure", lambda s, trip: measured.append(trip.is_open) or real(s, trip))
    me = visit(owner.email)
    pages = [me.get(f"/me/vehicles/{vehicle.vin}") for _ in range(3)]
    rolling = score.rolling_score(session=session, vehicle_id=vehicle.id)
    assert rolling.trips == 2 and all(html.escape(rolling.summary) in page.text for page in pages)
    assert measured == [True]  # the open trip, once for three views; never the closed one
    live = me.get(f"/me/vehicles/{vehicle.vin}/live").json()
    assert live["trip"]["is_open"] is True and measured == [True]
