"""One whole journey in a real browser: an occasion in the car's life becomes one message holding the
dealer's offer, the driver accepts it in one click on a phone-sized screen, and the visit is booked."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from forecourt.consent import service as consent_service
from forecourt.core.db import transaction
from forecourt.engagement import compose, delivery
from forecourt.engagement.models import Message, Occasion, Offer, Response
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser
ALWAYS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _occasion_and_message(seed_sessions, world) -> int:
    today = date.today()
    with transaction(seed_sessions) as session:
        dealer = parties_service.get_organization(session=session, organization_id=world.dealer_id)
        dealer.opening_hours, dealer.service_bays = ALWAYS, 2  # bookable at any hour the test runs
        consent_service.give(session=session, customer_id=world.customer_id, organization_id=dealer.id,
                             purpose_code="service_reminders", method="test")
        vehicle = vehicles_service.get_by_vin(session=session, vin=world.vin)
        session.add(Offer(organization_id=dealer.id, title="Annual inspection, brake check included",
                          purpose="service_reminders", occasion_kinds=["service_due"], models=[], markets=[],
                          price=149, currency="EUR", valid_from=today, valid_until=today + timedelta(days=30),
                          action="book_service", action_code="inspection", relevance=70))
        session.add(Occasion(kind="service_due", vehicle_id=vehicle.id, customer_id=world.customer_id,
                             window_starts_on=today, window_ends_on=today + timedelta(days=30), market="DE",
                             model_code=vehicle.trim.model.code, car_age_years=0))
        session.flush()
        compose.compose(session=session, today=today, hold=timedelta(0))
        message = session.scalars(select(Message).where(Message.customer_id == world.customer_id)).one()
        assert delivery.deliver(session=session, message=message,
                                at=datetime.combine(today, time(9, 0), tzinfo=UTC)) == "sent"
        return message.id


def test_an_occasion_becomes_one_message_and_one_click_books_the_visit(new_context, world, seed_sessions):
    message_id = _occasion_and_message(seed_sessions, world)
    page = new_context(viewport={"width": 390, "height": 844}).new_page()
    log_in(page, world.customer_email)
    page.goto("/me/offers")
    message = page.locator(f"#message-{message_id}")
    assert "Your car's service is due" in message.inner_text()
    assert f"From {world.dealer_name}" in message.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    message.get_by_role("button", name="Book a visit").click()
    page.wait_for_url("**/me/offers?flash=*")
    assert "Booked" in page.locator(".flash").inner_text()
    assert "Accepted." in page.locator(f"#message-{message_id}").inner_text()
    with transaction(seed_sessions) as session:
        accepted = session.scalars(select(Response).where(Response.message_id == message_id,
                                                          Response.kind == "accepted")).one()
        assert accepted.outcome.startswith("appointment:")
        opened = session.scalars(select(Response).where(Response.message_id == message_id,
                                                        Response.kind == "opened")).one()
        assert opened.channel == "in_app"
