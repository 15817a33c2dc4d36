"""A driver pairs the Traccar Client on their phone in a real Chromium: the page shows, once, the server
URL with the phone's token as text and as a QR code, and that URL is what the app reports to."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from forecourt.core.db import transaction
from forecourt.telematics.models import Device
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

PHONE_ID = "736204"


def _report(url: str) -> int:
    query = urlencode({"id": PHONE_ID, "timestamp": "1763625600", "lat": "53.55", "lon": "9.99"})
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{url}?{query}", method="POST"), timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_a_driver_pairs_a_phone_and_gets_the_url_and_qr_for_the_app(new_context, world, live_server, seed_sessions):
    page = new_context().new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    log_in(page, world.customer_email)
    page.goto(f"/me/vehicles/{world.vin}")
    page.get_by_role("link", name="Phone app for this car →").click()
    expect(page.get_by_role("heading", name="Your phone reports for this car")).to_be_visible()
    expect(page.get_by_text("No phone reports for this car yet.")).to_be_visible()

    page.get_by_label("Device identifier (as the app shows it)").fill(PHONE_ID)
    page.get_by_label("Name (optional)").fill("Mara's phone")
    page.get_by_role("button", name="Pair and show the server URL").click()

    expect(page.get_by_role("heading", name=f"Paired: {PHONE_ID}")).to_be_visible()
    field = page.get_by_role("textbox", name="Server URL")
    expect(field).to_have_value(re.compile(rf"^{re.escape(live_server.url)}/osmand/[A-Za-z0-9_-]{{40,}}$"))
    url = field.input_value()
    qr = page.locator("#server-url-qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 100 and box["height"] >= 100, box
    expect(page.locator("#phones-title ~ table")).to_contain_text("Mara's phone")
    assert violations == []

    # the URL is the app's server field: the phone reports to it; without the token it is refused
    assert _report(url) == 200
    assert _report(f"{live_server.url}/osmand") == 401
    with transaction(seed_sessions) as session:
        device = session.query(Device).filter_by(identifier=PHONE_ID).one()
        assert device.last_seen_at is not None and url.rsplit("/", 1)[1] not in (device.secret_digest or "")

    # it is shown once: coming back lists the phone, never its URL
    page.goto(f"/me/vehicles/{world.vin}/phone")
    expect(page.get_by_text("Mara's phone")).to_be_visible()
    expect(page.get_by_role("textbox", name="Server URL")).to_have_count(0)
    assert url.rsplit("/", 1)[1] not in page.content()

    # removing the phone ends its URL at once
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_contain_text("no longer reports for this car")
    assert _report(url) == 401
