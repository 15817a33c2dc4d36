"""Dealer basics in Chromium: the customer list shows what a rep dials and talks about (the phone and the
car), only for the data categories the stated purpose opens; a car for an order is picked from the
dealer's own unsold stock; a quote starts from the deal's configuration; follow-ups from the 360 are
listed there and on the rep's own list, overdue first, under the purpose they were written for. The server still checks and
prices whatever is submitted."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from forecourt.core.auth import Role
from forecourt.core.db import transaction
from forecourt.core.phones import display
from forecourt.customers.models import Customer
from forecourt.sales import stages
from forecourt.parties import service as parties_service
from forecourt.parties.models import User
from forecourt.sales.models import FollowUp, Opportunity
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import log_in
from tests.factories import PASSWORD as FACTORY_PASSWORD, Factory
from tests.sales.orders_scene import WEEK, configuration, order_in_state

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


def test_a_car_for_an_order_is_picked_from_the_dealers_own_stock(new_context, seed_sessions):
    session = seed_sessions()
    try:
        make = Factory(session=session, client=None)
        dealer, other = make.dealer(opening_hours=WEEK), make.dealer()
        rep = make.staff(dealer, Role.DEALER_SALES)
        buyer = make.customer()
        make.grant(buyer, dealer)  # the buyer allowed the dealer contact, as placing an order does
        order = order_in_state(make, buyer, dealer, "confirmed")
        mine = make.vehicle(selling_dealer_id=dealer.id, colour="Ruby red")
        theirs = make.vehicle(selling_dealer_id=other.id)
        sold = make.vehicle(selling_dealer_id=dealer.id, owner=make.customer(), dealer=dealer)
        session.commit()
        number, offered, hidden = order.number, mine.vin, [theirs.vin, sold.vin]
    finally:
        session.close()
    page = new_context().new_page()
    log_in(page, rep.email, password=FACTORY_PASSWORD)
    page.goto(f"/workspace/orders/{number}")
    options = page.locator("datalist#stock-vins option")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", offered)
    expect(options.first).to_contain_text("Ruby red")
    field = page.get_by_label("VIN")
    assert field.get_attribute("list") == "stock-vins"
    field.fill(hidden[0])  # another dealer's car, typed anyway: the server still refuses it
    page.get_by_role("button", name="Assign car").click()
    expect(page.locator("body")).to_contain_text("not an unsold car of this trim")
    page.get_by_label("VIN").fill(offered)
    page.get_by_role("button", name="Assign car").click()
    expect(page.locator("body")).to_contain_text("Car assigned to the order.")
    expect(page.locator("body")).to_contain_text(offered)


def test_a_quote_starts_from_the_deals_configuration(new_context, seed_sessions):
    session = seed_sessions()
    try:
        make = Factory(session=session, client=None)
        dealer = make.dealer()
        rep = make.staff(dealer, Role.DEALER_SALES)
        buyer = make.customer()
        make.grant(buyer, dealer)
        built = configuration(make, buyer, total=43_900)
        stages.ensure_default_stages(session=session)
        deal = Opportunity(dealer_id=dealer.id, customer_id=buyer.id, title="Aurora for Dana",
                           configuration_id=built.id, stage_code="qualified", amount=43_900)
        bare = Opportunity(dealer_id=dealer.id, customer_id=buyer.id, title="Just looking", stage_code="qualified")
        session.add_all([deal, bare])
        session.commit()
        deal_id, bare_id, code = deal.id, bare.id, built.code
    finally:
        session.close()
    page = new_context().new_page()
    log_in(page, rep.email, password=FACTORY_PASSWORD)
    page.goto(f"/workspace/opportunities/{deal_id}")
    expect(page.get_by_label("Line 1 configuration code")).to_have_value(code)
    expect(page.get_by_label("Line 1 description")).to_have_value(re.compile(r"^Aurora \d+ .+: Ruby red$"))
    expect(page.get_by_label("Line 1 unit price")).to_have_value("43900.00")
    expect(page.get_by_label("Line 2 configuration code")).to_have_value("")
    expect(page.locator("#quote-prefilled")).to_contain_text("€43,900.00")
    page.get_by_label("Line 1 discount").fill("5")
    page.get_by_role("button", name="Add version").click()
    expect(page.locator("#quotes")).to_contain_text("41,705.00")  # 43 900 less 5 %, computed by the server
    page.goto(f"/workspace/opportunities/{bare_id}")
    expect(page.get_by_label("Line 1 configuration code")).to_have_value("")
    expect(page.locator("#quote-prefilled")).to_have_count(0)


def test_follow_ups_from_the_360_and_my_list_overdue_first(new_context, world, seed_sessions):
    today = date.today()
    with transaction(seed_sessions) as session:
        make = Factory(session=session, client=None)
        rep_id = session.scalars(select(User.id).where(User.email == world.rep_email)).one()
        colleague = make.staff(parties_service.get_organization(session=session, organization_id=world.dealer_id))
        elsewhere = make.staff(make.dealer())
        session.add_all([
            FollowUp(organization_id=world.dealer_id, customer_id=world.customer_id, purpose="sales_contact",
                     assigned_user_id=rep_id, title="Ring back about the trade-in", due_on=today - timedelta(days=2)),
            FollowUp(organization_id=world.dealer_id, customer_id=world.customer_id, purpose="marketing_offers",
                     assigned_user_id=rep_id, title="Marketing-only note", due_on=today),
            FollowUp(organization_id=elsewhere.organization_id, customer_id=world.customer_id,
                     purpose="sales_contact", assigned_user_id=elsewhere.user_id, title="Another dealer's call",
                     due_on=today)])
        colleague_name = f"Staff {colleague.email}"
    rep = new_context().new_page()
    log_in(rep, world.rep_email)
    rep.goto(f"/workspace/customers/{world.customer_id}?purpose=sales_contact")
    section = rep.locator("#follow-ups")
    expect(section.locator("tr.follow-up")).to_have_count(1)  # not the marketing one, not another dealer's
    expect(section.locator("tr.follow-up.overdue")).to_contain_text("Ring back about the trade-in")
    section.get_by_label("Follow-up").fill("Send the lease offer")
    section.get_by_label("Due on").fill((today + timedelta(days=3)).isoformat())
    section.get_by_role("button", name="Add follow-up").click()
    expect(rep.locator(".flash")).to_have_text("Follow-up added.")
    expect(section.locator("tr.follow-up")).to_have_count(2)
    section.get_by_label("Follow-up").fill("Colleague's test drive")
    section.get_by_label("Due on").fill((today + timedelta(days=1)).isoformat())  # "today" is the viewer's
    section.get_by_label("Assigned to").select_option(label=colleague_name)
    section.get_by_role("button", name="Add follow-up").click()
    expect(section.locator("tr.follow-up").nth(1)).to_contain_text(colleague_name)

    rep.goto("/workspace/follow-ups")
    rows = rep.locator("tbody tr")
    expect(rows).to_have_count(2)  # mine only, under the purposes the customer still grants
    expect(rows.nth(0)).to_contain_text("Ring back about the trade-in")
    expect(rows.nth(0).locator(".pill")).to_have_text("overdue")
    expect(rows.nth(1)).to_contain_text("Send the lease offer")
    expect(rows.nth(1)).to_contain_text(world.customer_name)
    rows.nth(0).get_by_role("button", name="Mark done").click()
    expect(rep.locator(".flash")).to_have_text("Follow-up done.")
    expect(rep.locator("tbody tr")).to_have_count(1)
