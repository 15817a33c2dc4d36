"""A critical recall in two real browsers: the driver is told to stop driving and books the earliest slot
with one click; the workshop records the remedy on its page, and the car page no longer warns."""

from __future__ import annotations

import re
import uuid

import pytest

from forecourt.core.auth import Principal, Role
from forecourt.core.db import transaction
from forecourt.core.errors import NotFound
from forecourt.parties import service as parties_service
from forecourt.vehicles import recalls
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser
ALWAYS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _recall(seed_sessions, world) -> tuple[str, str]:
    """The driver's own workshop (open around the clock, so the test runs at any hour), its advisor, and a
    critical recall of the driver's car."""
    tag = uuid.uuid4().hex[:6].upper()
    with transaction(seed_sessions) as session:
        shop = parties_service.create_organization(session=session, values=dict(
            kind="dealer", code=f"WS-{tag}", name=f"Werkstatt {tag}", city="Kiel", latitude=54.32, longitude=10.13,
            opening_hours=ALWAYS, service_bays=2))
        advisor = parties_service.create_user(session=session, email=f"sam-{tag.lower()}@workshop.example",
                                              password=PASSWORD, display_name="Sam Service",
                                              role=Role.DEALER_SERVICE, organization_id=shop.id)
        vehicle = vehicles_service.get_by_vin(session=session, vin=world.vin)
        vehicle.service_dealer_id = shop.id  # the driver's chosen workshop
        try:
            carmaker = parties_service.carmaker(session=session)
        except NotFound:
            carmaker = parties_service.create_organization(session=session, values=dict(
                kind="carmaker", code=f"CM-{tag}", name="Forecourt Motors", city="Wolfsburg"))
        admin = Principal(user_id=None, role=Role.CARMAKER_ADMIN, display_name="Recalls", organization_id=carmaker.id)
        code = f"RC-BR-{tag}"
        recalls.open_campaign(session=session, principal=admin, code=code, title="Steering rack may crack",
                              description="The steering can fail suddenly.", remedy="Replace the steering rack.",
                              severity="critical", labour_minutes=120,
                              scopes=[{"vin_from": world.vin, "vin_to": world.vin}])
    return code, advisor.email


def test_the_driver_books_a_critical_recall_and_the_workshop_records_the_remedy(new_context, world, seed_sessions):
    code, advisor_email = _recall(seed_sessions, world)

    driver = new_context().new_page()
    log_in(driver, world.customer_email)
    driver.goto(f"/me/vehicles/{world.vin}")
    banner = driver.locator("#critical-recall-banner")
    assert "Critical: stop driving until fixed." in banner.inner_text()
    assert "All good" not in driver.content()
    earliest = driver.locator(f"#book-{code}-1")
    assert earliest.inner_text().startswith("Book the earliest:")
    earliest.click()
    driver.wait_for_url(re.compile(r"flash=Booked"))
    booked = driver.locator(f"#recall-booked-{code}").inner_text()
    assert "Werkstatt" in booked and "held for the whole job" in booked

    workshop = new_context().new_page()
    log_in(workshop, advisor_email)
    workshop.goto(f"/workspace/vehicles/{world.vin}/recalls")
    section = workshop.locator(f"#recall-{code}")
    assert "Booked here for" in section.inner_text()
    section.get_by_label("Odometer (km)").fill("18250")
    section.get_by_role("button", name="Record the remedy").click()
    workshop.wait_for_url(re.compile(r"flash=Remedy"))
    assert workshop.locator("#no-open-recalls").is_visible()

    driver.goto(f"/me/vehicles/{world.vin}")
    assert driver.locator("#critical-recall-banner").count() == 0
    assert driver.locator(f"#open-recall-{code}").count() == 0
    with transaction(seed_sessions) as session:
        progress = recalls.campaign_progress(session=session,
                                             campaign_id=recalls.get_campaign(session=session, code=code).id)
        assert (progress["remedied"], progress["open"]) == (1, 0)
