"""One detractor's follow-up in Chromium: the driver answers the e-mailed survey on a phone, the dealer's
rep finds the follow-up with the answer, and closes it with a note."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from forecourt.core.db import transaction
from forecourt.core.outbox import OutboxMessage
from forecourt.engagement.nps import surveys
from forecourt.engagement.nps.policy import Policy
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def _survey_link(seed_sessions, world) -> str:
    """The survey after the car's delivery, as the e-mail carries it (the driver allows sales contact)."""
    with transaction(seed_sessions) as session:
        survey = surveys.invite(session=session, touchpoint="delivery", subject_key=f"browser:{world.customer_id}",
                                customer_id=world.customer_id, vehicle_id=None, organization_id=world.dealer_id,
                                policy=Policy())
        return session.scalar(select(OutboxMessage.link).where(OutboxMessage.id == survey.outbox_message_id))


def test_a_detractors_answer_becomes_a_follow_up_the_dealer_closes_with_a_note(world, seed_sessions, new_context):
    link = _survey_link(seed_sessions, world)
    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    phone.goto(link)
    expect(phone.locator("h1")).to_contain_text(world.dealer_name)
    phone.get_by_role("button", name="Send my answer").click()  # no score chosen: the browser asks for one
    expect(phone.locator("#outcome")).to_have_count(0)
    phone.locator("label.nps-score", has_text=re.compile(r"^\s*3\s*$")).click()
    phone.locator("#why").fill("Waited two hours at the hand-over and nobody explained the car.")
    phone.get_by_role("button", name="Send my answer").click()
    expect(phone.locator("#outcome")).to_contain_text("get in touch")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    phone.goto(link)  # the link took its answer
    expect(phone.locator("#problem")).to_contain_text("already answered")

    page = new_context().new_page()
    log_in(page, world.rep_email)
    page.goto("/nps/follow-ups")
    row = page.locator("tr.follow-up", has_text="Waited two hours")
    expect(row).to_have_count(1)
    row.get_by_role("link", name="Open").click()
    expect(page.locator("#why")).to_contain_text("nobody explained the car")
    expect(page.locator("#driver")).to_contain_text("Mara")  # within consent: sales contact
    page.locator("#note").fill("Called Mara, walked her through the car, booked a free check.")
    page.get_by_role("button", name="Close with this note").click()
    expect(page.locator(".flash")).to_contain_text("Follow-up closed")
    expect(page.locator("tr.follow-up", has_text="Waited two hours")).to_have_count(0)
    page.goto("/nps")
    expect(page.locator("#nps-value")).to_have_text("-100")
    expect(page.locator("#open-follow-ups")).to_have_text("0")
