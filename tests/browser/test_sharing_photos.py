"""In Chromium on a phone (390x844): the driver returns a shared car with a photo of a new scratch, sees its
thumbnail, and the hub's service advisor sees the same photo on the damage list and moves it to repair."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from forecourt.core.auth import Role
from forecourt.core.db import transaction
from forecourt.parties import service as parties_service
from tests.browser.conftest import PASSWORD, log_in
from tests.browser.test_car_sharing import PHONE, _report, hub_scene  # noqa: F401 - the fixture
from tests.sharing import pictures

pytestmark = pytest.mark.browser


def _loaded(image) -> bool:
    """The <img> really shows a picture (the browser decoded what the server sent)."""
    return image.evaluate("i => i.complete && i.naturalWidth > 0")


def test_a_return_with_a_photo_on_a_phone_and_the_hub_sees_it(new_context, hub_scene, seed_sessions):  # noqa: F811
    with transaction(seed_sessions) as session:
        advisor = parties_service.create_user(
            session=session, email=f"advisor-{hub_scene['hub_id']}@hub.example", password=PASSWORD,
            display_name="Sam Service", role=Role.DEALER_SERVICE, organization_id=hub_scene["dealer_id"])
        advisor_email = advisor.email
    page = new_context(**PHONE).new_page()
    log_in(page, hub_scene["email"])
    page.goto(f"/sharing?lat={hub_scene['lat']}&lon={hub_scene['lon']}")
    page.locator(f"#hub-{hub_scene['hub_id']}").get_by_role("button", name="Reserve").first.click()
    page.get_by_role("button", name="Book it").click()
    page.get_by_role("button", name="Get my code").click()
    page.get_by_role("button", name="Unlock").click()
    expect(page.locator("body")).to_contain_text("asked to unlock")
    page.get_by_role("button", name="Start the trip").click()
    expect(page.locator("body")).to_contain_text("Have a good trip")
    with transaction(seed_sessions) as session:  # a short drive, back at the hub
        _report(session, hub_scene["vehicle_id"], odometer=1209.0, charge=80)

    camera = page.locator("input[type=file][name=photos]")
    assert camera.get_attribute("capture") == "environment" and camera.get_attribute("accept") == "image/*"
    page.get_by_label("New damage (leave empty if none)").fill("Scratch on the rear door")
    camera.set_input_files([{"name": "scratch.jpg", "mimeType": "image/jpeg", "buffer": pictures.jpeg()}])
    page.get_by_role("button", name="Return the car").click()
    expect(page.locator("#bill")).to_contain_text("Unlock fee")
    thumbnail = page.locator("#photos img").first
    expect(thumbnail).to_be_visible()
    page.wait_for_function("() => [...document.querySelectorAll('#photos img')].every(i => i.complete)")
    assert _loaded(thumbnail)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone

    desk = new_context(**PHONE).new_page()
    log_in(desk, advisor_email)
    desk.goto("/workspace/hub")
    report = desk.locator("article.damage", has_text="Scratch on the rear door")
    expect(report).to_contain_text("Reported")
    seen = report.locator(".photos img").first
    expect(seen).to_be_visible()
    desk.wait_for_function("() => [...document.querySelectorAll('.photos img')].every(i => i.complete)")
    assert _loaded(seen)
    report.get_by_label("Status").select_option("repairing")
    report.get_by_role("button", name="Save").click()
    expect(desk.locator("body")).to_contain_text("Damage report updated.")
    expect(desk.locator("article.damage", has_text="Scratch on the rear door")).to_contain_text("Being repaired")
    full = desk.request.get(seen.get_attribute("src").replace("?size=thumb", ""))
    assert full.status == 200 and full.headers["content-type"] == "image/jpeg"
    # nobody logged in gets no photo: the page asks them to log in
    anonymous = new_context(**PHONE).request.get(seen.get_attribute("src"), max_redirects=0)
    assert anonymous.status in (303, 307) and "/login" in anonymous.headers["location"]
