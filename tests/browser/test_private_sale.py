"""A private sale in two real browsers: the owner starts it on her car's page and reads the code out;
the buyer types it in his portal, sees the car, accepts, and has it. The seller keeps only her past."""

from __future__ import annotations

import re
import uuid

import pytest

from forecourt.core.db import transaction
from forecourt.customers import service as customers_service
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser


def _buyer(seed_sessions) -> str:
    tag = uuid.uuid4().hex[:6]
    with transaction(seed_sessions) as session:
        return customers_service.sign_up(session=session, email=f"ben-{tag}@buyer.example", password=PASSWORD,
                                         profile=dict(first_name="Ben", last_name=f"Kauf{tag}", city="Kiel")).email


def test_a_private_sale_confirmed_by_the_owner_and_accepted_by_the_buyer(new_context, world, seed_sessions):
    buyer_email = _buyer(seed_sessions)

    seller = new_context().new_page()
    log_in(seller, world.customer_email)
    seller.goto(f"/me/vehicles/{world.vin}")
    seller.locator("#start-sale").click()
    code = seller.locator("#sale-code").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", code), code
    seller.goto(f"/me/vehicles/{world.vin}")
    assert "A sale is waiting for its buyer" in seller.locator("#pending-sale").inner_text()

    buyer = new_context().new_page()
    log_in(buyer, buyer_email)
    buyer.goto("/me")
    buyer.locator("#buy-with-code a").click()
    buyer.get_by_label("The seller's code").fill(code.lower().replace("-", " "))
    buyer.get_by_role("button", name="Show the car").click()
    shown = buyer.locator("#purchase-car").inner_text()
    assert world.vin in shown and "Mara" not in buyer.content()  # the car, never the seller
    buyer.locator("#accept-purchase").click()
    buyer.wait_for_url(re.compile(rf"/me/vehicles/{world.vin}"))
    assert "The car is yours" in buyer.content()
    buyer.goto("/me")
    assert world.vin in buyer.locator(".cars").inner_text()

    with transaction(seed_sessions) as session:
        vehicle = vehicles_service.get_by_vin(session=session, vin=world.vin)
        ownership = vehicles_service.current_ownership(session=session, vehicle_id=vehicle.id)
        assert ownership.customer_id != world.customer_id and ownership.acquisition == "private_sale"

    seller.goto("/me")
    assert world.vin not in seller.locator("main").inner_text().split("Cars you owned before")[0]
    assert world.vin in seller.locator("main").inner_text()  # under the cars she owned before
    seller.goto(f"/me/vehicles/{world.vin}")
    assert "You sold this car" in seller.content() and seller.locator("#start-sale").count() == 0


def test_nobody_else_can_sell_the_car(new_context, world, seed_sessions):
    """The dealer's sales rep has no way to move a customer's car; the portal offers it only to its owner."""
    rep = new_context().new_page()
    log_in(rep, world.rep_email)
    response = rep.request.post(f"/api/vehicles/{world.vin}/sale", data={"customer_id": world.customer_id})
    assert response.status in (401, 403, 404)  # cookie sessions need a CSRF token, and the car is no stock
    stranger = new_context().new_page()
    log_in(stranger, _buyer(seed_sessions))
    stranger.goto(f"/me/vehicles/{world.vin}")
    assert stranger.locator("#start-sale").count() == 0
    with transaction(seed_sessions) as session:
        vehicle = vehicles_service.get_by_vin(session=session, vin=world.vin)
        assert vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id) == world.customer_id
