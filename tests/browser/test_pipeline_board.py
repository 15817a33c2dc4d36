"""A sales rep drags a deal to the next stage on the opportunities board in Chromium: the deal moves on
the server (the same checked form post as the card's Move button) and the board shows it there."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from forecourt.core.db import transaction
from forecourt.parties import service as parties_service
from forecourt.parties.models import User
from forecourt.sales import opportunities as opps
from forecourt.sales import stages as stages_service
from forecourt.sales.models import Opportunity
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_a_rep_drags_a_deal_to_the_next_stage(new_context, world, seed_sessions):
    account = f"Hafenbetriebe {uuid.uuid4().hex[:6]}"
    with transaction(seed_sessions) as session:
        rep = parties_service.principal_for(session.scalars(select(User).where(User.email == world.rep_email)).one())
        deal = opps.create(session=session, principal=rep, values=dict(kind="fleet", account_name=account,
                                                                        quantity=3, amount=90000))
        session.flush()
        codes = [s.code for s in stages_service.open_stages(session=session, dealer_id=world.dealer_id)]
        deal_id, first = deal.id, deal.stage_code
    second = codes[codes.index(first) + 1]

    page = new_context().new_page()
    log_in(page, world.rep_email)
    page.goto("/workspace/opportunities")
    card = page.locator(f'.deal-card[data-deal="{deal_id}"]')
    expect(card).to_have_attribute("data-stage", first)
    card.drag_to(page.locator(f'.board-column[data-stage="{second}"]'))
    expect(page.locator("#board-status")).to_have_text("The deal has moved.")
    expect(page.locator(f'.board-column[data-stage="{second}"] .deal-card[data-deal="{deal_id}"]')).to_be_visible()
    with seed_sessions() as session:
        assert session.get(Opportunity, deal_id).stage_code == second

    # without dragging: the card's own Move button does the same
    page.locator(f'.deal-card[data-deal="{deal_id}"] summary').click()
    page.locator(f'.deal-card[data-deal="{deal_id}"] select[name="stage_code"]').select_option(first)
    page.locator(f'.deal-card[data-deal="{deal_id}"]').get_by_role("button", name="Move").click()
    with seed_sessions() as session:
        expect(page.locator("body")).to_contain_text("The deal has moved.")
        assert session.get(Opportunity, deal_id).stage_code == first
