"""A driver watches their car's page in a real Chromium while a trip arrives over HTTP: the route
appears on the map within the refresh interval, without a reload. Staff and fleet pages render too."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from pathlib import Path

import pytest
from playwright.sync_api import expect

from forecourt.assist import subscriptions
from forecourt.consent import service as consent_service
from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.db import transaction
from forecourt.core.errors import NotFound
from forecourt.parties import service as parties_service
from forecourt.telematics import devices
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
ROUTE = "#vehicle-map .leaflet-overlay-pane path"


def _carmaker(session):
    try:
        return parties_service.carmaker(session=session)
    except NotFound:
        return parties_service.create_organization(session=session, values=dict(
            kind="carmaker", code="MAKER", name="Forecourt Motors", city="Wolfsburg", opening_hours={},
            service_bays=0))


@pytest.fixture
def connected(world, seed_sessions) -> str:
    """The world's car with an embedded unit and the On Call it was sold with, its owner allowing the
    carmaker location services."""
    with transaction(seed_sessions) as session:
        carmaker = _carmaker(session)
        consent_service.give(session=session, customer_id=world.customer_id, organization_id=carmaker.id,
                             purpose_code="location_services", method="test")
        vehicle = vehicles_service.get_by_vin(session=session, vin=world.vin)
        ownership = vehicles_service.current_ownership(session=session, vehicle_id=vehicle.id)
        subscriptions.included_on_sale(session=session, vehicle_id=vehicle.id, customer_id=world.customer_id,
                                       sold_on=ownership.started_at.date())
        _, secret = devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin,
                                     vehicle_id=vehicle.id)
    return secret


def _post_trip(base_url: str, vin: str, secret: str) -> None:
    """Ten minutes of driving north from Hamburg's centre, one sample every 20 seconds, ending now."""
    start = now() - timedelta(minutes=11)
    samples = []
    for step in range(31):
        moving = 0 < step < 30
        samples.append({
            "timestamp": (start + timedelta(seconds=20 * step)).isoformat(),
            "Vehicle.Speed": 48.0 if moving else 0.0,
            "Vehicle.CurrentLocation.Latitude": 53.55 + 0.0025 * step,
            "Vehicle.CurrentLocation.Longitude": 9.99 + 0.0010 * step,
            "Vehicle.TraveledDistance": 12_000_000 + 270 * step,
            "Vehicle.LowVoltageBattery.CurrentVoltage": 14.1 if moving else 12.5,
            "Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed": 80.0 - step * 0.2,
            "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure": 240.0,
            "Vehicle.Chassis.Axle.Row1.Wheel.Right.Tire.Pressure": 190.0,
            "Vehicle.Diagnostics.DTCList": ["P0128"],
        })
    request = urllib.request.Request(f"{base_url}/api/telemetry/{vin}", data=json.dumps({"samples": samples}).encode(),
                                     headers={"Authorization": f"Bearer {secret}",
                                              "Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
        assert json.loads(response.read())["stored"] == len(samples)


def test_a_trip_appears_on_the_owners_map_without_a_reload(new_context, world, connected, live_server):
    SHOTS.mkdir(exist_ok=True)
    # a browser on another continent's clock: the page speaks the driver's zone, not the browser's
    page = new_context(timezone_id="America/Los_Angeles").new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    log_in(page, world.customer_email)
    page.get_by_role("link", name="Trips, health and driving score").click()
    expect(page).to_have_url(re.compile(rf"/me/vehicles/{world.vin}$"))
    expect(page.get_by_text("No trips yet — drive with location services allowed").first).to_be_visible()
    expect(page.get_by_text("Your car has not reported yet")).to_be_visible()
    expect(page.locator("#vehicle-map")).to_have_attribute("data-markers-placed", "0")
    expect(page.locator(ROUTE)).to_have_count(0)
    page.screenshot(path=str(SHOTS / "vehicle-owner-empty.png"), full_page=True)
    page.evaluate("window.__stillTheSamePage = true")

    _post_trip(live_server.url, world.vin, connected)

    # within the 10-second refresh (plus slack), the route and its markers are drawn
    route = page.locator(f"{ROUTE}.trip-route")
    expect(route).to_have_count(1, timeout=15_000)
    expect(page.locator(f"{ROUTE}.trip-start")).to_have_count(1)
    expect(page.locator(f"{ROUTE}.car-position")).to_have_count(1)
    assert int(page.locator("#vehicle-map").get_attribute("data-route-points")) > 2
    expect(page.locator('#live-signals [data-signal="odometer"]')).to_have_text("12\u202f008 km")
    expect(page.locator('#live-signals [data-signal="tyres"]')).to_contain_text("front right 1.9 bar")
    expect(page.get_by_text("Your car has not reported yet")).to_be_hidden()
    zone = ZoneInfo(page.locator('meta[name="forecourt-zone"]').get_attribute("content"))
    assert zone.key != "America/Los_Angeles"
    reported = datetime.fromisoformat(page.locator("#live-reported time").get_attribute("datetime"))
    local = reported.astimezone(zone)
    expect(page.locator("#live-reported time")).to_contain_text(f"{local.hour % 12 or 12}:{local:%M:%S}")
    expect(page.locator("#trip-caption")).to_contain_text(re.compile(r"^(On the road now:|Drove) [\d.]+ km, started "))
    assert page.evaluate("window.__stillTheSamePage === true"), "the page was reloaded"
    assert violations == []
    page.screenshot(path=str(SHOTS / "vehicle-owner-live.png"), full_page=True)

    # a reload shows the same trip server-side, with the health and the trip in the table
    page.reload()
    expect(page.locator(f"{ROUTE}.trip-route")).to_have_count(1)
    expect(page.locator(".dtc", has_text="Engine stays too cold")).to_be_visible()
    expect(page.locator("#trips-title")).to_be_visible()
    page.screenshot(path=str(SHOTS / "vehicle-owner-reloaded.png"), full_page=True)


def test_staff_vehicle_page_and_fleet_health_render_cleanly(new_context, world, connected, live_server,
                                                            seed_sessions):
    SHOTS.mkdir(exist_ok=True)
    _post_trip(live_server.url, world.vin, connected)
    with transaction(seed_sessions) as session:
        for purpose in ("location_services", "vehicle_health_sharing"):
            consent_service.give(session=session, customer_id=world.customer_id, organization_id=world.dealer_id,
                                 purpose_code=purpose, method="test")
        admin = parties_service.create_user(session=session, email=f"admin-{world.vin.lower()}@maker.example",
                                            password=PASSWORD, display_name="Ada Admin",
                                            role=Role.CARMAKER_ADMIN, organization_id=_carmaker(session).id)
        admin_email = admin.email
        # location and vehicle health are the workshop's work, not the sales team's
        advisor = parties_service.create_user(session=session, email=f"advisor-{world.vin.lower()}@dealer.example",
                                              password=PASSWORD, display_name="Sven Service",
                                              role=Role.DEALER_SERVICE, organization_id=world.dealer_id)
        advisor_email = advisor.email

    dealer = new_context().new_page()
    log_in(dealer, advisor_email)
    dealer.goto(f"/workspace/customers/{world.customer_id}?purpose=location_services")
    dealer.get_by_role("link", name=re.compile("Aurora")).click()
    expect(dealer.locator(f"{ROUTE}.trip-route")).to_have_count(1)
    expect(dealer.locator(".dtc")).to_have_count(0)  # health is not location
    dealer.screenshot(path=str(SHOTS / "vehicle-staff-location.png"), full_page=True)
    dealer.goto(f"/workspace/vehicles/{world.vin}?purpose=vehicle_health_sharing")
    expect(dealer.locator(".dtc", has_text="Engine stays too cold")).to_be_visible()
    expect(dealer.locator("#vehicle-map")).to_have_count(0)
    dealer.screenshot(path=str(SHOTS / "vehicle-staff-health.png"), full_page=True)

    carmaker = new_context().new_page()
    log_in(carmaker, admin_email)
    carmaker.get_by_role("link", name="Fleet health").click()
    expect(carmaker.get_by_role("heading", name="Fleet health")).to_be_visible()
    expect(carmaker.locator("#attention")).to_contain_text(world.vin)
    expect(carmaker.get_by_text("Mara")).to_have_count(0)
    carmaker.screenshot(path=str(SHOTS / "vehicle-fleet.png"), full_page=True)
