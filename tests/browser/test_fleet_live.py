"""The carmaker admin watches the fleet health page on a phone-sized Chromium while a car reports a
fault that makes driving on unsafe: the count and the list change in place, without a reload, the
chart does not move, the change is said to screen readers, and the time shown is the one the page
itself shows after a reload (the viewer's clock)."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from forecourt.core.auth import Role
from forecourt.core.db import transaction
from forecourt.core.errors import NotFound
from forecourt.parties import service as parties_service
from forecourt.telematics import devices
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp/shots")


def _carmaker(session):
    try:
        return parties_service.carmaker(session=session)
    except NotFound:
        return parties_service.create_organization(session=session, values=dict(
            kind="carmaker", code="MAKER", name="Forecourt Motors", city="Wolfsburg", opening_hours={},
            service_bays=0))


@pytest.fixture
def fleet_admin(world, seed_sessions) -> tuple[str, str]:
    """A carmaker admin, and the secret of the world's car's embedded unit (paired, not judged yet)."""
    with transaction(seed_sessions) as session:
        admin = parties_service.create_user(session=session, email=f"fleet-{world.vin.lower()}@maker.example",
                                            password=PASSWORD, display_name="Fiona Fleet",
                                            role=Role.CARMAKER_ADMIN, organization_id=_carmaker(session).id)
        vehicle = vehicles_service.get_by_vin(session=session, vin=world.vin)
        _, secret = devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin,
                                     vehicle_id=vehicle.id)
        return admin.email, secret


def _overheats(base_url: str, vin: str, secret: str) -> None:
    body = {"timestamp": datetime.now(UTC).isoformat(), "Vehicle.Diagnostics.DTCList": ["P0217"]}
    request = urllib.request.Request(f"{base_url}/api/telemetry/{vin}", data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {secret}",
                                              "Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202


def _count(page, status: str) -> int:
    return int(page.locator(f'.bar-count[data-status="{status}"]').text_content().replace(",", ""))


def test_the_fleet_page_follows_a_car_turning_unsafe_in_place(new_context, world, fleet_admin, live_server):
    admin_email, secret = fleet_admin
    page = new_context(viewport=PHONE).new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    log_in(page, admin_email)
    page.goto("/admin/fleet")
    holder = page.locator("#fleet")
    expect(holder).to_have_attribute("data-stream", "open")
    expect(holder).to_have_attribute("data-updates", "1")  # the stream's first state: what the page shows
    expect(page.locator("#fleet-announce")).to_have_text("")  # nothing changed, nothing said
    unsafe, unknown = _count(page, "stop_safely"), _count(page, "unknown")
    expect(page.locator(f'#attention tr[data-vin="{world.vin}"]')).to_have_count(0)
    chart = page.locator(".fleet-bars").bounding_box()
    page.evaluate("window.__stillTheSamePage = true")

    _overheats(live_server.url, world.vin, secret)

    row = page.locator(f'#attention tr[data-vin="{world.vin}"]')
    expect(row).to_contain_text("Stop safely", timeout=10_000)
    expect(row).to_contain_text("Engine overheating")
    expect(page.locator('.bar-count[data-status="stop_safely"]')).to_have_text(str(unsafe + 1))
    expect(page.locator('.bar-count[data-status="unknown"]')).to_have_text(str(unknown - 1))
    expect(page.locator("#fleet-announce")).to_contain_text(f"Stop safely: {unsafe + 1}")
    assert page.evaluate("window.__stillTheSamePage === true"), "the page was reloaded"
    assert page.locator(".fleet-bars").bounding_box() == chart, "the chart moved"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    assert violations == []
    pushed_time = row.locator("time").text_content()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "fleet-phone-pushed.png"), full_page=True)

    page.reload()  # the page itself says the same, on the same clock
    reloaded = page.locator(f'#attention tr[data-vin="{world.vin}"]')
    expect(reloaded.locator("time")).to_have_text(pushed_time)
    expect(page.locator('.bar-count[data-status="stop_safely"]')).to_have_text(str(unsafe + 1))
