"""A dealer's sales rep logs in and opens a customer 360 in a real Chromium while simulated cars report
over HTTP to the same server: every page arrives, none asks them to try again."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from forecourt.telematics.models import ReceivedMessage
from forecourt.telematics.simulator.runner import Simulation, SimulationConfig
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def _reports(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ReceivedMessage))


@pytest.fixture
def driving(live_server, seed_sessions, world):
    """Up to 8 cars of the live database report 20 times a second, as ``forecourt simulate`` does."""
    simulation = Simulation(SimulationConfig(vehicles=8, rate=20, via="http", server=live_server.url, workers=4),
                            seed_sessions)
    simulation.prepare()
    stop = threading.Event()
    thread = threading.Thread(target=simulation.run, args=(stop,), daemon=True)
    thread.start()
    yield simulation.stats
    stop.set()
    thread.join(30)


def test_a_rep_logs_in_and_opens_the_360_while_cars_drive(new_context, world, driving, seed_sessions):
    before = _reports(seed_sessions)
    page = new_context().new_page()
    for _ in range(3):
        log_in(page, world.rep_email)
        expect(page.get_by_text("Please try again")).to_have_count(0)
        for _ in range(4):
            page.goto(f"/workspace/customers/{world.customer_id}?purpose=sales_contact")
            expect(page.locator("body")).to_contain_text(world.customer_email)
            expect(page.get_by_text("Please try again")).to_have_count(0)
        page.goto("/workspace/customers?purpose=sales_contact")
        expect(page.locator("body")).to_contain_text(world.customer_name)
        page.context.clear_cookies()
    assert driving.errors == 0
    assert _reports(seed_sessions) > before  # the cars were reporting meanwhile
