"""What the driver noticed and the courtesy car, in a real Chromium, in English, German and Korean: the driver ticks
symptoms and describes them while booking in the portal; the advisor finds them in the pre-arrival brief
beside the fault codes, writes what was found, lends a courtesy car, records its hand-over and its return,
and reads both in the car's history with the kilometres driven."""

from __future__ import annotations

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
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop.models import Appointment, Loaner
from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser

OPEN_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat")
WORDS = {
    "en": dict(noise="Noise", braking="When braking", noticed="What the driver noticed", out="Out with the driver",
               returned="Returned", history="Hand-overs and returns", driven="42 km driven"),
    "de": dict(noise="Geräusch", braking="Beim Bremsen", noticed="Was dem Fahrer aufgefallen ist",
               out="Beim Fahrer", returned="Zurückgegeben", history="Übergaben und Rückgaben",
               driven="42 km gefahren"),
    "ko": dict(noise="소음", braking="제동할 때", noticed="운전자가 느낀 증상", out="운전자가 사용 중", returned="반납됨",
               history="인도 및 반납", driven="42 km 주행"),
}


@dataclass
class Scene:
    advisor_email: str
    customer_email: str
    vin: str
    vehicle_id: int


def _scene(seed_sessions, language: str) -> Scene:
    """A Berlin workshop (Monday to Saturday, three bays) with a service advisor and one courtesy car; an owner
    whose car it sold, who shares service reminders and the car's health with it. Both read ``language``."""
    tag = uuid.uuid4().hex[:6].upper()
    digits = f"{int(tag, 16) % 1_000_000:06d}"
    with transaction(seed_sessions) as session:
        dealer = parties_service.create_organization(session=session, values=dict(
            kind="dealer", code=f"SYM-{tag}", name=f"Werkstatt Ost {tag}", street="Karl-Marx-Allee 1",
            postcode="10178", city="Berlin", latitude=52.52, longitude=13.42,
            opening_hours={day: [["08:00", "18:00"]] for day in OPEN_DAYS}, service_bays=3))
        advisor = parties_service.create_user(session=session, email=f"adv-{tag.lower()}@ost.example",
                                              password=PASSWORD, display_name="Ada Advisor",
                                              role=Role.DEALER_SERVICE, organization_id=dealer.id)
        advisor.language = language
        customer = customers_service.sign_up(session=session, email=f"dora-{tag.lower()}@driver.example",
                                             password=PASSWORD,
                                             profile=dict(first_name="Dora", last_name=f"Fahr{tag}", city="Berlin"))
        customer.language = language
        model = vehicles_service.create_model(session=session, code=f"Y-{tag}", name=f"Kora {tag}", body="hatch",
                                              year_from=2020)
        trim = vehicles_service.create_trim(session=session, model_id=model.id, code=f"YT-{tag}", name="Pure",
                                            propulsion="electric", year_from=2020, base_price=31_900)
        vehicle = vehicles_service.register(session=session, vin=vehicles_service.with_check_digit(
            f"WFC1D2E30RE{digits}"), trim_id=trim.id, model_year=2023, colour="Sand")
        vehicles_service.transfer(session=session, vehicle_id=vehicle.id, customer_id=customer.id,
                                  at=now() - timedelta(days=200), dealer_id=dealer.id)
        for purpose in ("service_reminders", "vehicle_health_sharing"):
            consent_service.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                                 purpose_code=purpose, method="test")
        spare = vehicles_service.register(session=session, vin=vehicles_service.with_check_digit(
            f"WFC1D2E30RF{digits}"), trim_id=trim.id, model_year=2025, colour="Slate", selling_dealer_id=dealer.id)
        session.add(Loaner(dealer_id=dealer.id, vehicle_id=spare.id, is_active=True))
        return Scene(advisor_email=advisor.email, customer_email=customer.email, vin=vehicle.vin,
                     vehicle_id=vehicle.id)


@pytest.mark.parametrize("language", ["en", "de", "ko"])
def test_symptoms_from_booking_to_brief_and_a_courtesy_car_out_and_back(new_context, seed_sessions, live_server,
                                                                         language):
    scene, words = _scene(seed_sessions, language), WORDS[language]

    # 1. the driver books a diagnosis in the portal, ticking what they noticed and saying it in words
    driver = new_context().new_page()
    log_in(driver, scene.customer_email)
    driver.goto(f"/me/service/book?vin={scene.vin}&job=diagnosis")
    expect(driver.locator("details.symptoms")).to_contain_text(words["noise"])
    driver.locator('input[name="symptoms"][value="noise"]').check()
    driver.locator('input[name="symptoms"][value="braking"]').check()
    driver.locator('textarea[name="symptom_notes"]').fill("Squeal from the front left, since Tuesday")
    driver.locator('button[name="slot"]').first.click()
    driver.wait_for_url("**/me/service?flash=*")
    driver.screenshot(path=f"/tmp/shots/symptoms-booked-{language}.png", full_page=True)
    with transaction(seed_sessions) as session:
        appointment = session.scalars(select(Appointment).where(Appointment.vehicle_id == scene.vehicle_id)).one()
        assert appointment.symptoms == ["noise", "braking"]
        appointment_id = appointment.id

    # 2. the advisor reads it in the brief, beside the fault codes, and writes what was found
    advisor = new_context().new_page()
    log_in(advisor, scene.advisor_email)
    advisor.goto(f"/workspace/service/appointments/{appointment_id}")
    noticed = advisor.locator("#symptoms")
    expect(noticed).to_contain_text(words["noticed"])
    expect(noticed).to_contain_text(words["noise"])
    expect(noticed).to_contain_text(words["braking"])
    expect(noticed).to_contain_text("Squeal from the front left, since Tuesday")
    advisor.locator('#findings textarea[name="findings"]').fill("Front left pad worn to the indicator")
    advisor.locator("#findings button").click()
    expect(advisor.locator("#findings-text")).to_contain_text("Front left pad worn to the indicator")

    # 3. a courtesy car goes out with its condition recorded, and comes back 42 km later
    advisor.locator('form[action$="/loaner"] button').click()
    form = advisor.locator("#handover-form")
    form.locator('input[name="odometer_km"]').fill("8000")
    form.locator('input[name="energy_percent"]').fill("90")
    form.locator('textarea[name="damage_notes"]').fill("Scratch, rear bumper")
    form.locator('textarea[name="photos"]').fill("https://photos.example/bumper.jpg")
    form.locator("button").click()
    expect(advisor.locator("#loaner-state")).to_contain_text(words["out"])
    back = advisor.locator("#return-form")
    back.locator('input[name="odometer_km"]').fill("8042")
    back.locator('input[name="energy_percent"]').fill("55")
    back.locator("button").click()
    expect(advisor.locator("#loaner-state")).to_contain_text(words["returned"])
    advisor.locator('#loaner a[href^="/workspace/service/loaners/"]').click()
    expect(advisor.get_by_role("heading", level=2)).to_contain_text(words["history"])
    history = advisor.locator("#history")
    expect(history).to_contain_text(words["driven"])
    expect(history).to_contain_text("Scratch, rear bumper")
    advisor.screenshot(path=f"/tmp/shots/loaner-history-{language}.png", full_page=True)
