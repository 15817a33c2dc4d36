"""The dealer's customer list shows what a rep dials and talks about — the phone and the car — but only
the data categories the stated purpose opens, read through the same consent-checked list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from forecourt.core.db import transaction
from forecourt.core.phones import display
from forecourt.customers.models import Customer
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser
PHONE = "+4940123456789"


def test_phone_and_current_car_columns(new_context, world, seed_sessions):
    with transaction(seed_sessions) as session:
        session.get(Customer, world.customer_id).phone = PHONE
        vehicles_service.get_by_vin(session=session, vin=world.vin).registration = "HH-AU 123"
    rep = new_context().new_page()
    log_in(rep, world.rep_email)
    rep.goto(f"/workspace/customers?purpose=sales_contact&q={world.customer_name.split(',')[0]}")
    row = rep.locator("tbody tr").filter(has=rep.get_by_role("link", name=world.customer_name))
    expect(row).to_have_count(1)
    phone_link = row.locator('a[href^="tel:"]')
    expect(phone_link).to_have_text(display(PHONE, viewer_region="DE"))
    assert display(PHONE, viewer_region="DE") != PHONE  # formatted, not the stored E.164
    expect(row).to_contain_text("Aurora · HH-AU 123")
    expect(rep.get_by_role("columnheader", name="Current cars")).to_be_visible()
