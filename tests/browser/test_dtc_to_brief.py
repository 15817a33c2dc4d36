"""Proactive service in a real Chromium, as the people in it see it: the car reports a misfire over the
real ingest path, Forecourt proposes slots at the owner's workshop, the owner books one with one click on
/me/service, and the service advisor finds the car in the calendar and opens its pre-arrival brief, which
shows the fault code with its description. DTC → proposal → booking → the advisor's brief."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from forecourt.consent import service as consent_service
from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.db import transaction
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.telematics import devices
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop import calendar
from forecourt.workshop.models import Appointment, Proposal
from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser

OPEN_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat")
FAULT, FAULT_WORDS = "P0301", "Cylinder 1 misfire detected"


@dataclass
class Scene:
    dealer_id: int
    dealer_name: str
    advisor_email: str
    customer_id: int
    customer_email: str
    vehicle_id: int
    vin: str
    model_name: str
    secret: str


@pytest.fixture
def scene(seed_sessions) -> Scene:
    """A Berlin workshop open Monday to Saturday with three bays and an advisor; an owner whose car it
    sold, who lets it remind them of service and see the car's health; the car's embedded unit."""
    tag = uuid.uuid4().hex[:6].upper()
    digits = f"{int(tag, 16) % 1_000_000:06d}"
    with transaction(seed_sessions) as session:
        dealer = parties_service.create_organization(session=session, values=dict(
            kind="dealer", code=f"SVC-{tag}", name=f"Werkstatt Spree {tag}", street="Invalidenstraße 12",
            postcode="10115", city="Berlin", latitude=52.531, longitude=13.384, phone="+49 30 7654321",
            opening_hours={day: [["08:00", "18:00"]] for day in OPEN_DAYS}, service_bays=3))
        advisor = parties_service.create_user(session=session, email=f"advisor-{tag.lower()}@spree.example",
                                              password=PASSWORD, display_name="Sven Advisor",
                                              role=Role.DEALER_SERVICE, organization_id=dealer.id)
        customer = customers_service.sign_up(session=session, email=f"ole-{tag.lower()}@driver.example",
                                             password=PASSWORD,
                                             profile=dict(first_name="Ole", last_name=f"Brandt{tag}", city="Berlin"))
        model = vehicles_service.create_model(session=session, code=f"S-{tag}", name=f"Vela {tag}", body="saloon",
                                              year_from=2020)
        trim = vehicles_service.create_trim(session=session, model_id=model.id, code=f"ST-{tag}", name="2.0 Business",
                                            propulsion="petrol", year_from=2020, base_price=34_900)
        vehicle = vehicles_service.register(session=session, vin=vehicles_service.with_check_digit(
            f"WFC1D2E30RD{digits}"), trim_id=trim.id, model_year=2023, colour="Fjord blue")
        vehicles_service.transfer(session=session, vehicle_id=vehicle.id, customer_id=customer.id,
                                  at=now() - timedelta(days=300), dealer_id=dealer.id)
        for purpose in ("service_reminders", "vehicle_health_sharing"):
            consent_service.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                                 purpose_code=purpose, method="test")
        _, secret = devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin,
                                     vehicle_id=vehicle.id)
        return Scene(dealer_id=dealer.id, dealer_name=dealer.name, advisor_email=advisor.email,
                     customer_id=customer.id, customer_email=customer.email, vehicle_id=vehicle.id, vin=vehicle.vin,
                     model_name=model.name, secret=secret)


def _report_misfire(base_url: str, scene: Scene) -> None:
    """The car's embedded unit posts two samples over HTTP: the second carries the misfire code."""
    start = now() - timedelta(minutes=2)
    samples = [{"timestamp": (start + timedelta(seconds=30 * step)).isoformat(),
                "Vehicle.Speed": 30.0, "Vehicle.TraveledDistance": 41_000_000 + 250 * step,
                "Vehicle.LowVoltageBattery.CurrentVoltage": 14.1,
                "Vehicle.OBD.DTCList": [FAULT] if step else []} for step in range(2)]
    request = urllib.request.Request(f"{base_url}/api/telemetry/{scene.vin}",
                                     data=json.dumps({"samples": samples}).encode(),
                                     headers={"Authorization": f"Bearer {scene.secret}",
                                              "Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
        assert json.loads(response.read())["stored"] == len(samples)


def _wait_for(seed_sessions, query, what: str, seconds: float = 10.0):
    """Events are handled after the ingest commits; poll the database briefly for the result."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        with transaction(seed_sessions) as session:
            found = session.scalars(query).first()
            if found is not None:
                session.expunge(found)
                return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not appear within {seconds:.0f} s")
        time.sleep(0.2)


def test_a_fault_code_becomes_a_booking_and_the_advisors_brief(new_context, scene, seed_sessions, live_server):
    # 1. the car reports a misfire through the real ingest path
    _report_misfire(live_server.url, scene)
    proposal = _wait_for(seed_sessions, select(Proposal).where(Proposal.vehicle_id == scene.vehicle_id),
                         "a service proposal for the misfire")
    assert proposal.dealer_id == scene.dealer_id and proposal.dtc_codes == [FAULT] and proposal.slots

    # 2. the owner sees the proposal on /me/service and books the first slot with one click
    owner = new_context().new_page()
    log_in(owner, scene.customer_email)
    owner.goto("/me/service")
    offer = owner.locator(f"#proposal-{proposal.id}")
    expect(offer).to_contain_text(FAULT_WORDS)
    expect(offer).to_contain_text(scene.dealer_name)
    offer.get_by_role("button").first.click()
    expect(owner.locator("body")).to_contain_text(re.compile(r"[Bb]ooked"))
    appointment = _wait_for(seed_sessions, select(Appointment).where(Appointment.vehicle_id == scene.vehicle_id),
                            "the appointment")
    assert appointment.dealer_id == scene.dealer_id and appointment.dtc_codes == [FAULT]
    assert appointment.starts_at.isoformat().startswith(proposal.slots[0]["starts_at"][:16])

    # 3. the advisor finds it in the calendar of that day and opens the brief
    advisor = new_context().new_page()
    log_in(advisor, scene.advisor_email)
    advisor.get_by_role("link", name="Service calendar").click()
    expect(advisor.get_by_role("heading", level=1)).to_contain_text("Service calendar")
    day = calendar.local(appointment.starts_at).date()
    advisor.goto(f"/workspace/service/calendar?day={day.isoformat()}")
    cell = advisor.locator(f'#calendar [data-appointment="{appointment.id}"]')
    expect(cell).to_contain_text(scene.model_name)
    expect(cell).to_contain_text("Fault diagnosis")
    advisor.screenshot(path="/tmp/shots/dtc-to-brief-calendar.png", full_page=True)
    cell.get_by_role("link").click()
    advisor.wait_for_url(f"**/workspace/service/appointments/{appointment.id}")
    expect(advisor.get_by_role("heading", level=1)).to_contain_text(scene.model_name)
    faults = advisor.locator("#faults")
    expect(faults).to_contain_text(FAULT)
    expect(faults).to_contain_text(FAULT_WORDS)
    expect(advisor.locator("#owner")).to_contain_text("Brandt")  # service reminders open the contact card
    expect(advisor.locator("#owner")).to_contain_text(scene.customer_email)
    expect(advisor.locator("#arrival")).to_contain_text("Position not shared")
    advisor.screenshot(path="/tmp/shots/dtc-to-brief.png", full_page=True)
