"""A driver presses SOS on a phone in Chromium: the phone's position goes with it, the case opens on the
agent's console, named by the nearest town, and the driver's page follows it."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from forecourt.assist.models import Case
from forecourt.core.auth import Role
from forecourt.core.db import transaction
from forecourt.parties import service as parties_service
from tests.browser.conftest import PASSWORD, log_in
from tests.browser.test_live_trip import _carmaker

pytestmark = pytest.mark.browser

WHERE = {"latitude": 53.5511, "longitude": 9.9937, "accuracy": 12}  # Hamburg, the Rathausmarkt


def test_sos_from_a_phone_reaches_the_console_with_the_phones_position(browser, live_server, world, seed_sessions,
                                                                        new_context):
    phone = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True, geolocation=WHERE, permissions=["geolocation"])
    try:
        page = phone.new_page()
        log_in(page, world.customer_email)
        page.goto("/me/on-call")
        page.get_by_text("SOS — call for help").click()
        expect(page.locator(".sos-located")).to_be_visible()  # the phone said where it is
        page.get_by_role("button", name="Yes, send help now").click()
        expect(page).to_have_url(re.compile(r"/me/on-call/help/"))
        expect(page.locator("#help-status")).to_contain_text("Your call has reached the call centre")
        expect(page.get_by_role("link", name="Call 112")).to_be_visible()
        number = page.url.rsplit("/", 1)[1]
    finally:
        phone.close()

    with seed_sessions() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        assert (case.kind, case.source, case.customer_id) == ("sos", "driver_app", world.customer_id)
        assert (case.latitude, case.longitude, case.position_trusted) == (WHERE["latitude"], WHERE["longitude"], True)

    tag = uuid.uuid4().hex[:6]
    with transaction(seed_sessions) as session:
        agent = parties_service.create_user(session=session, email=f"agent-{tag}@maker.example", password=PASSWORD,
                                            display_name="Alex Agent", role=Role.CALL_CENTRE_AGENT,
                                            organization_id=_carmaker(session).id)
        agent_email = agent.email
    console = new_context().new_page()
    log_in(console, agent_email)
    console.goto(f"/console/cases/{number}")
    expect(console.locator("#case-place")).to_contain_text("(DE)")
    expect(console.locator("body")).to_contain_text("via the driver's SOS button in the app")
