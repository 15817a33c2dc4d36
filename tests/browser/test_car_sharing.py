"""Car sharing in Chromium on a phone (390x844): reserve -> book -> code -> unlock -> drive (the car's
readings simulated) -> return outside the area (refused, distance shown) -> return -> bill; and a
day-long test drive from the configurator that becomes a lead for the hub's dealer."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.db import transaction
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.sales.models import Lead
from forecourt.sharing import hubs, profiles
from forecourt.telematics import devices
from forecourt.telematics.models import TwinSignal
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _report(session, vehicle_id: int, **values) -> None:
    names = {"lat": "Vehicle.CurrentLocation.Latitude", "lon": "Vehicle.CurrentLocation.Longitude",
             "odometer": "Vehicle.TraveledDistance",
             "charge": "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", "moving": "Vehicle.IsMoving"}
    for name, value in values.items():
        session.merge(TwinSignal(vehicle_id=vehicle_id, path=names[name], value=value, measured_at=now()))


@pytest.fixture
def hub_scene(seed_sessions):
    tag = uuid.uuid4().hex[:6].upper()
    with transaction(seed_sessions) as session:
        dealer = parties_service.create_organization(session=session, values=dict(
            kind="dealer", code=f"HUB-{tag}", name=f"Autohaus Hub {tag}", city="Hamburg", latitude=53.55,
            longitude=9.99, opening_hours={}, service_bays=2))
        parties_service.create_user(session=session, email=f"rep-{tag.lower()}@hub.example", password=PASSWORD,
                                    display_name="Rita Rep", role=Role.DEALER_SALES, organization_id=dealer.id)
        model = vehicles_service.create_model(session=session, code=f"S-{tag}", name=f"Sola {tag}", body="suv",
                                              year_from=2020)
        trim = vehicles_service.create_trim(session=session, model_id=model.id, code=f"ST-{tag}", name="Long Range",
                                            propulsion="electric", year_from=2020, base_price=41_000)
        hub = hubs.create_hub(session=session, dealer_id=dealer.id)
        digits = f"{int(tag, 16) % 1_000_000:06d}"
        vehicle = vehicles_service.register(session=session, vin=vehicles_service.with_check_digit(
            f"WFC1S2H30RS{digits}"), trim_id=trim.id, model_year=2025, registration=f"HH-S {tag[:4]}")
        devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
        _report(session, vehicle.id, lat=hub.latitude, lon=hub.longitude, odometer=1200.0, charge=85, moving=False)
        car = hubs.add_car(session=session, hub_id=hub.id, vehicle_id=vehicle.id)
        customer = customers_service.sign_up(session=session, email=f"jonas-{tag.lower()}@driver.example",
                                             password=PASSWORD, profile=dict(first_name="Jonas", last_name=f"Ek{tag}"))
        profiles.accept_terms(session=session, customer_id=customer.id)
        profiles.check_licence(session=session, customer_id=customer.id, checked_by_user_id=1, number="HH1234567",
                               expires_on=date.today() + timedelta(days=1000), note="seen")
        return dict(hub_id=hub.id, hub_name=hub.name, lat=hub.latitude, lon=hub.longitude, car_id=car.id,
                    vehicle_id=vehicle.id, model_id=model.id, trim_code=trim.code, email=customer.email,
                    customer_id=customer.id, dealer_id=dealer.id)


def test_reserve_unlock_drive_return_and_read_the_bill_on_a_phone(new_context, hub_scene, seed_sessions):
    page = new_context(**PHONE).new_page()
    log_in(page, hub_scene["email"])
    page.goto(f"/sharing?lat={hub_scene['lat']}&lon={hub_scene['lon']}")
    card = page.locator(f"#hub-{hub_scene['hub_id']}")
    expect(card).to_contain_text("85 % full")
    expect(page.locator("#dealer-map .leaflet-marker-icon").first).to_be_visible()
    card.get_by_role("button", name="Reserve").first.click()
    expect(page.locator("body")).to_contain_text("held for you")
    page.get_by_role("button", name="Book it").click()
    expect(page.locator("body")).to_contain_text("Booked.")
    page.get_by_role("button", name="Get my code").click()
    code = page.locator("#unlock-code").inner_text()
    assert len(code) == 6 and code.isdigit()
    page.get_by_role("button", name="Unlock").click()
    expect(page.locator("body")).to_contain_text("asked to unlock")
    page.get_by_role("button", name="Start the trip").click()
    expect(page.locator("body")).to_contain_text("Have a good trip")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone

    with transaction(seed_sessions) as session:  # the car drives off and stops 1.5 km away
        _report(session, hub_scene["vehicle_id"], lat=hub_scene["lat"] + 0.0135, odometer=1228.0, charge=60)
    page.get_by_role("button", name="Return the car").click()
    expect(page.locator("[role=alert]")).to_contain_text("m outside the return area")
    with transaction(seed_sessions) as session:  # and parks at the hub
        _report(session, hub_scene["vehicle_id"], lat=hub_scene["lat"])
    page.get_by_role("button", name="Return the car").click()
    expect(page.locator("#bill")).to_contain_text("Unlock fee")
    expect(page.locator("#bill-total")).to_contain_text("€")


def test_a_day_long_test_drive_from_the_configurator_becomes_a_lead(new_context, hub_scene, seed_sessions):
    page = new_context(**PHONE).new_page()
    log_in(page, hub_scene["email"])
    page.goto(f"/configure/{hub_scene['trim_code']}")
    page.get_by_role("link", name="Try this for a day").click()
    page.wait_for_url(lambda url: "kind=test_drive" in url)
    page.goto(page.url + f"&lat={hub_scene['lat']}&lon={hub_scene['lon']}")
    card = page.locator(f"#hub-{hub_scene['hub_id']}")
    expect(card).to_contain_text("24 hours for")
    card.get_by_label("The dealer may contact me").check()
    card.get_by_role("button", name="Book this test drive").click()
    expect(page.locator("body")).to_contain_text("held for you")
    with seed_sessions() as session:  # delivered right after the booking committed
        lead = session.scalars(select(Lead).where(Lead.customer_id == hub_scene["customer_id"])).one()
        assert (lead.dealer_id, lead.source, lead.model_id) == (hub_scene["dealer_id"], "test_drive",
                                                                 hub_scene["model_id"])
