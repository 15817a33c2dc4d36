"""What a driver and a dealer see in a real Chromium: consent taking effect, and the data export."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from forecourt.consent import service as consent_service
from forecourt.core.auth import Role
from forecourt.core.db import transaction
from forecourt.parties import service as parties_service
from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser


def _csp_violations(page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text)
            if "Content Security Policy" in message.text else None)
    return found


def test_withdrawing_a_grant_hides_the_customer_from_the_dealer(new_context, world, seed_sessions):
    dealer = new_context().new_page()
    log_in(dealer, world.rep_email)
    expect(dealer).to_have_url(re.compile(r"/workspace/customers$"))
    expect(dealer.get_by_role("link", name=world.customer_name)).to_be_visible()
    customer_url = f"/workspace/customers/{world.customer_id}"

    driver = new_context().new_page()
    violations = _csp_violations(driver)
    log_in(driver, world.customer_email)
    driver.get_by_role("link", name="Who can see my data").click()
    expect(driver.get_by_role("heading", name="Who can see my data")).to_be_visible()
    toggle = driver.locator(f"#consent-{world.dealer_id}-sales_contact").get_by_role("switch")
    expect(toggle).to_have_attribute("aria-checked", "true")
    toggle.click()
    switched = driver.locator(f"#consent-{world.dealer_id}-sales_contact").get_by_role("switch")
    expect(switched).to_have_attribute("aria-checked", "false")
    expect(switched).to_have_text(re.compile("Off"))
    expect(driver).to_have_url(re.compile(r"/me/privacy$"))  # swapped in place, no page load
    assert violations == []

    with transaction(seed_sessions) as session:
        assert consent_service.active_grant(session=session, customer_id=world.customer_id,
                                            organization_id=world.dealer_id, purpose_code="sales_contact") is None

    dealer.reload()
    expect(dealer.get_by_text("Customers appear here once they allow")).to_be_visible()
    expect(dealer.get_by_role("link", name=world.customer_name)).to_have_count(0)
    response = dealer.goto(customer_url)
    assert response.status == 404
    expect(dealer.get_by_role("heading", name="Not found")).to_be_visible()
    expect(dealer.get_by_text("Mara")).to_have_count(0)


def test_the_switch_works_without_javascript(browser, live_server, world, seed_sessions):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, world.customer_email)
        page.goto("/me/privacy")
        page.locator(f"#consent-{world.dealer_id}-marketing_offers").get_by_role("switch").click()
        expect(page.get_by_role("status")).to_contain_text(f"{world.dealer_name} is now allowed")
        expect(page.locator(f"#consent-{world.dealer_id}-marketing_offers").get_by_role("switch")) \
            .to_have_attribute("aria-checked", "true")
    finally:
        context.close()
    with transaction(seed_sessions) as session:
        assert consent_service.active_grant(session=session, customer_id=world.customer_id,
                                            organization_id=world.dealer_id,
                                            purpose_code="marketing_offers") is not None


def test_a_driver_downloads_their_data(new_context, world):
    page = new_context().new_page()
    log_in(page, world.customer_email)
    page.get_by_role("link", name="My data", exact=True).click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my data (JSON)").click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"forecourt-my-data-{world.customer_id}-")
    with open(download.path(), encoding="utf-8") as file:
        document = json.load(file)
    assert document["customer"]["email"] == world.customer_email
    assert [v["vin"] for v in document["vehicles"]] == [world.vin]


def test_the_dealer_map_places_a_marker_per_dealer(new_context, world, seed_sessions):
    email = f"admin-{world.dealer_id}@carmaker.example"
    with transaction(seed_sessions) as session:
        try:
            carmaker = parties_service.carmaker(session=session)
        except Exception:
            carmaker = parties_service.create_organization(session=session, values=dict(
                kind="carmaker", code="CARMAKER", name="Forecourt Motors", opening_hours={}))
        parties_service.create_user(session=session, email=email, password=PASSWORD, display_name="Ada Admin",
                                    role=Role.CARMAKER_ADMIN, organization_id=carmaker.id)
        located = sum(1 for d in parties_service.list_organizations(session=session, kind="dealer",
                                                                     active_only=False)
                      if d.latitude is not None and d.longitude is not None)
    page = new_context().new_page()
    violations = _csp_violations(page)
    log_in(page, email)
    expect(page.locator("#dealer-map")).to_have_attribute("data-markers-placed", str(located))
    expect(page.locator("#dealer-map .leaflet-marker-icon")).to_have_count(located)
    expect(page.locator(f'#dealer-map .leaflet-marker-icon[title="{world.dealer_name}"]')).to_have_count(1)
    assert violations == []
