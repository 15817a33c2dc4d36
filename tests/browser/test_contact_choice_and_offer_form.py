"""In a real browser: the driver changes channels and frequency on the privacy page, and a dealer's
salesperson creates an offer through the form, both on a phone-sized screen."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from forecourt.core.db import transaction
from forecourt.engagement import pressure
from forecourt.engagement.models import Offer
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing wider than the phone


def test_the_driver_chooses_channels_and_frequency_on_the_privacy_page(new_context, world, seed_sessions):
    page = new_context(viewport=PHONE).new_page()
    log_in(page, world.customer_email)
    page.goto("/me/offers")
    page.locator("#change-choice").click()
    page.wait_for_url("**/me/privacy#contact-choice")
    choice = page.locator("#contact-choice")
    assert choice.is_visible() and "by e-mail" in page.locator("#choice-now").inner_text()
    _fits(page)
    page.get_by_label("By e-mail").uncheck()
    choice.get_by_label("At most 1 message a month").check()
    page.get_by_role("button", name="Save my choice").click()
    page.wait_for_url("**/me/privacy?flash=*")
    flash = page.locator(".flash").inner_text()
    assert "Saved." in flash and "in the app only" in flash and "At most 1 message a month" in flash
    assert not page.get_by_label("By e-mail").is_checked()
    assert choice.get_by_label("At most 1 message a month").is_checked()
    with transaction(seed_sessions) as session:
        stored = pressure.choice_of(session=session, customer_id=world.customer_id)
        assert (stored.email, stored.per_month) == (False, 1)
    # the same choice is what the app reads
    page.goto("/me/offers")
    assert "in the app only" in page.locator("#contact-choice").inner_text()


def test_a_salesperson_creates_an_offer_through_the_form_on_a_phone(new_context, world, seed_sessions):
    page = new_context(viewport=PHONE).new_page()
    log_in(page, world.rep_email)
    page.goto("/workspace/offers")
    _fits(page)
    form = page.locator("#offer-form")
    form.get_by_label("Title").fill("Spring check-up")
    form.get_by_label("Your car's service is due").check()
    form.get_by_label("The driver's permission it rests on").select_option("service_reminders")
    form.get_by_label("Car at least (years)").fill("5")
    form.get_by_label("Car at most (years)").fill("2")  # no car is at least 5 and at most 2 years old
    form.get_by_label("Price").fill("89")
    form.get_by_label("Currency").fill("EUR")
    form.get_by_label("Call to action").select_option("book_service")
    form.get_by_label("Workshop job or warranty product code").fill("inspection")
    form.get_by_role("button", name="Save the offer").click()
    assert "lower bound is above the upper bound" in page.locator("#e-max_age_years").inner_text()
    _fits(page)
    page.locator("#offer-form").get_by_label("Car at most (years)").fill("12")
    page.locator("#offer-form").get_by_role("button", name="Save the offer").click()
    page.wait_for_url("**/workspace/offers?flash=*")
    assert "Spring check-up" in page.locator("#offers").inner_text()
    with transaction(seed_sessions) as session:
        offer = session.scalars(select(Offer).where(Offer.organization_id == world.dealer_id)).one()
        assert (offer.title, offer.min_age_years, offer.max_age_years, offer.occasion_kinds, offer.currency) == (
            "Spring check-up", 5, 12, ["service_due"], "EUR")
        assert offer.valid_from <= date.today() < offer.valid_until <= date.today() + timedelta(days=91)
