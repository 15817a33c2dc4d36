"""Forgot password in Chromium: from the login page to a new password and straight into "My cars"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from forecourt.core.outbox import OutboxMessage

pytestmark = pytest.mark.browser


def test_a_driver_resets_the_password_and_is_logged_in(new_context, world, seed_sessions):
    page = new_context().new_page()
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail").fill(world.customer_email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.locator("#reset-sent")).to_contain_text("on its way")

    with seed_sessions() as session:
        link = session.scalars(select(OutboxMessage.link).where(
            OutboxMessage.customer_id == world.customer_id, OutboxMessage.topic == "account_link")).one()
    page.goto(link)
    page.get_by_label("Password (at least 10 characters)").fill("a-brand-new-password")
    page.get_by_label("The same password again").fill("a-brand-new-password")
    page.get_by_role("button", name="Set my password").click()
    expect(page).to_have_url(re.compile(r"/me\?flash="))
    expect(page.locator(".flash")).to_contain_text("you are logged in")
    expect(page.get_by_role("heading", name="My cars")).to_be_visible()
