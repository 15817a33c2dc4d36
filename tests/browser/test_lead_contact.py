"""The request form's "allow contact" in Chromium: the thank-you page tells the truth and never sends
the visitor round in a circle.

A visitor's tick only asks for an e-mailed confirmation link (double opt-in), so the box starts
ticked; a visitor who unticks it can still ask for the link from the thank-you page in one click.
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _fill(page, email: str) -> None:
    page.goto("/leads/new?wants=call")
    page.locator("[name=first_name]").fill("Lena")
    page.locator("[name=last_name]").fill("Berg")
    page.locator("[name=email]").fill(email)
    page.locator("[name=city]").fill("Hamburg")


def test_a_visitor_is_asked_to_confirm_and_can_change_their_mind(world, new_context):
    page = new_context().new_page()
    _fill(page, f"lena-{uuid.uuid4().hex[:6]}@driver.example")
    allow = page.locator("[name=allow_contact]")
    expect(allow).to_be_checked()  # the permission itself waits for the e-mailed link
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#confirm-by-email")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("did not allow")

    other = new_context().new_page()
    _fill(other, f"lena-{uuid.uuid4().hex[:6]}@driver.example")
    other.locator("[name=allow_contact]").uncheck()
    other.get_by_role("button", name="Send request").click()
    expect(other.locator("#no-contact")).to_contain_text("You did not allow")
    expect(other.locator("body")).not_to_contain_text("send the form again")
    other.get_by_role("button", name="contact me").click()  # one click: the link is e-mailed
    expect(other.locator("#confirm-by-email")).to_be_visible()
    expect(other.locator("body")).not_to_contain_text("did not allow")
