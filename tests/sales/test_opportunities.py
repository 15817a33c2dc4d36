"""Opportunities: stages, moves and closes with their history, consent, leads, activities and targets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.core.clock import advance, frozen_at
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.parties import service as parties_service
from forecourt.sales import opportunities as opps
from forecourt.sales import stages as stages_service
from forecourt.sales import targets as targets_service
from forecourt.sales.codes import new_code
from forecourt.sales.models import Configuration, Lead, Opportunity, Stage, StageChange

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def principal_of(session, login):
    return parties_service.principal_for(parties_service.get_user(session=session, user_id=login.user_id))


def configuration(make, total=41250):
    trim = make.trim()
    row = Configuration(code=new_code(), trim_id=trim.id, option_codes=[], price_lines=[],
                        base_price=trim.base_price, total_price=total)
    make.session.add(row)
    make.session.flush()
    return row


def lead(make, dealer, customer, **values):
    row = Lead(dealer_id=dealer.id, customer_id=customer.id if customer else None, source="web_form",
               first_name="Lena", last_name="Lead", email="lena@example.test", **values)
    make.session.add(row)
    make.session.flush()
    return row


@pytest.fixture
def shop(make, session):
    """A dealer, its sales rep (as a principal) and a customer who allowed sales contact."""
    dealer = make.dealer()
    rep = make.staff(dealer, Role.DEALER_SALES)
    customer = make.customer()
    make.grant(customer, dealer, "sales_contact")
    return dealer, principal_of(session, rep), customer


def walk_in(session, rep, customer, **values):
    return opps.create(session=session, principal=rep, values=dict(kind="retail", customer_id=customer.id) | values)


def changes_of(session, opportunity):
    return [(c.from_stage, c.to_stage, c.changed_at.replace(tzinfo=None), c.user_id)
            for c in session.scalars(select(StageChange).where(StageChange.opportunity_id == opportunity.id)
                                     .order_by(StageChange.id))]


def access_rows(session, customer) -> int:
    return session.scalar(select(func.count(AccessLogEntry.id)).where(AccessLogEntry.customer_id == customer.id))


# --- stages -----------------------------------------------------------------------------------------

def test_default_stages_are_written_once(session):
    stages_service.ensure_default_stages(session=session)
    stages_service.ensure_default_stages(session=session)
    rows = session.scalars(select(Stage).where(Stage.organization_id.is_(None)).order_by(Stage.position)).all()
    assert [(s.name, s.probability, s.outcome) for s in rows] == [
        ("New", 10, None), ("Qualified", 25, None), ("Test drive", 40, None), ("Offer", 60, None),
        ("Negotiation", 80, None), ("Won", 100, "won"), ("Lost", 0, "lost")]


def test_a_dealer_defines_its_own_process_and_others_keep_the_default(make, session, shop):
    dealer, rep, customer = shop
    other = make.dealer()
    saved = stages_service.save_dealer_stages(session=session, dealer_id=dealer.id, stages=[
        {"code": "new", "name": "Enquiry", "probability": 5}, {"name": "Home visit", "probability": 30},
        {"code": "offer", "name": "Offer", "probability": 70}], won_name="Signed", lost_name="Gone")
    assert [(s.code, s.name, s.outcome) for s in saved] == [
        ("new", "Enquiry", None), ("home_visit", "Home visit", None), ("offer", "Offer", None),
        ("won", "Signed", "won"), ("lost", "Gone", "lost")]
    assert [s.name for s in stages_service.stages_for(session=session, dealer_id=dealer.id)][:2] == [
        "Enquiry", "Home visit"]
    assert stages_service.stages_for(session=session, dealer_id=other.id)[0].name == "New"
    # deals follow the dealer's process
    deal = walk_in(session, rep, customer)
    assert deal.stage_code == "new"
    opps.move(session=session, principal=rep, opportunity_id=deal.id, stage_code="home_visit")
    with pytest.raises(Invalid, match="no such stage"):
        opps.move(session=session, principal=rep, opportunity_id=deal.id, stage_code="negotiation")
    # a stage holding an open deal cannot be removed, and says so
    with pytest.raises(Invalid, match="'Home visit' cannot be removed: 1 open deal is in it"):
        stages_service.save_dealer_stages(session=session, dealer_id=dealer.id, stages=[
            {"code": "new", "name": "Enquiry", "probability": 5}])
    with pytest.raises(Invalid, match="Two stages are called 'Offer'"):
        stages_service.save_dealer_stages(session=session, dealer_id=dealer.id, stages=[
            {"code": "home_visit", "name": "Offer", "probability": 5}, {"code": "offer", "name": "offer",
                                                                         "probability": 9}])
    # reorder and drop an empty stage: exactly one won and one lost stage remain
    saved = stages_service.save_dealer_stages(session=session, dealer_id=dealer.id, stages=[
        {"code": "home_visit", "name": "Home visit", "probability": 30},
        {"code": "new", "name": "Enquiry", "probability": 5}])
    assert [s.code for s in saved] == ["home_visit", "new", "won", "lost"]
    assert [s.outcome for s in saved].count("won") == 1 and [s.outcome for s in saved].count("lost") == 1


# --- opening, moving, closing -----------------------------------------------------------------------

def test_moves_and_closes_write_the_history_analytics_read(make, session, shop):
    dealer, rep, customer = shop
    with frozen_at(MONDAY):
        deal = walk_in(session, rep, customer, amount=38000)
        assert (deal.status, deal.stage_code, deal.created_at, deal.closed_at) == ("open", "new", MONDAY, None)
        assert deal.expected_close == date(2026, 4, 1)  # a month from today unless the rep says otherwise
        advance(timedelta(days=2))
        opps.move(session=session, principal=rep, opportunity_id=deal.id, stage_code="test_drive")
        assert deal.stage_entered_at == MONDAY + timedelta(days=2)
        with pytest.raises(Invalid, match="already in 'Test drive'"):
            opps.move(session=session, principal=rep, opportunity_id=deal.id, stage_code="test_drive")
        with pytest.raises(Invalid, match="Won"):
            opps.move(session=session, principal=rep, opportunity_id=deal.id, stage_code="won")
        advance(timedelta(days=3))
        opps.win(session=session, principal=rep, opportunity_id=deal.id)
    naive = MONDAY.replace(tzinfo=None)
    assert changes_of(session, deal) == [
        (None, "new", naive, rep.user_id), ("new", "test_drive", naive + timedelta(days=2), rep.user_id),
        ("test_drive", "won", naive + timedelta(days=5), rep.user_id)]
    assert (deal.status, deal.stage_code) == ("won", "won")
    assert deal.closed_at.replace(tzinfo=None) == deal.stage_entered_at.replace(tzinfo=None) == naive + timedelta(days=5)
    with pytest.raises(Invalid, match="already won"):
        opps.move(session=session, principal=rep, opportunity_id=deal.id, stage_code="offer")


def test_lost_needs_a_reason_from_the_list(session, shop):
    _, rep, customer = shop
    deal = walk_in(session, rep, customer)
    with pytest.raises(Invalid, match="Say why the deal was lost") as refused:
        opps.lose(session=session, principal=rep, opportunity_id=deal.id, reason=None)
    assert refused.value.field == "reason"
    with pytest.raises(Invalid, match="write in the notes"):
        opps.lose(session=session, principal=rep, opportunity_id=deal.id, reason="other", post_mortem="  ")
    with pytest.raises(Invalid, match="listed reasons"):
        opps.lose(session=session, principal=rep, opportunity_id=deal.id, reason="weather")
    assert deal.status == "open" and len(changes_of(session, deal)) == 1
    opps.lose(session=session, principal=rep, opportunity_id=deal.id, reason="competitor_offer",
              post_mortem="Rival dealer offered free wallbox.")
    assert (deal.status, deal.stage_code, deal.lost_reason) == ("lost", "lost", "competitor_offer")
    assert deal.closed_at is not None and changes_of(session, deal)[-1][:2] == ("new", "lost")


def test_an_online_order_closes_the_deal_as_won_once(session, shop):
    _, rep, customer = shop
    deal = walk_in(session, rep, customer)
    at = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    opps.close_won_by_order(session=session, opportunity_id=deal.id, at=at)
    opps.close_won_by_order(session=session, opportunity_id=deal.id, at=at + timedelta(days=1))
    assert deal.status == "won" and deal.closed_at.replace(tzinfo=None) == at.replace(tzinfo=None)
    assert [c[:2] for c in changes_of(session, deal)] == [(None, "new"), ("new", "won")]
    assert changes_of(session, deal)[-1][3] is None  # nobody clicked: the order did it


# --- who may see a deal -----------------------------------------------------------------------------

def test_another_dealer_and_a_withdrawn_customer_get_not_found(make, session, shop):
    dealer, rep, customer = shop
    deal = walk_in(session, rep, customer)
    other_rep = principal_of(session, make.staff(make.dealer(), Role.DEALER_SALES))
    make.grant(customer, parties_service.get_organization(session=session, organization_id=other_rep.organization_id))
    with pytest.raises(NotFound):
        opps.load(session=session, principal=other_rep, opportunity_id=deal.id)
    before = access_rows(session, customer)
    opps.load(session=session, principal=rep, opportunity_id=deal.id)
    assert access_rows(session, customer) == before + 1  # an allowed read is in the customer's log
    make.withdraw(customer, dealer)
    before = access_rows(session, customer)
    for action in (lambda: opps.load(session=session, principal=rep, opportunity_id=deal.id),
                   lambda: opps.win(session=session, principal=rep, opportunity_id=deal.id)):
        with pytest.raises(NotFound):
            action()
    assert access_rows(session, customer) == before
    assert deal.status == "open"
    assert opps.list_for_dealer(session=session, principal=rep) == []


def test_a_walk_in_needs_the_customers_grant_but_a_fleet_deal_without_contact_does_not(make, session, shop):
    dealer, rep, _ = shop
    stranger = make.customer()
    before = access_rows(session, stranger)
    with pytest.raises(NotFound):
        walk_in(session, rep, stranger)
    assert access_rows(session, stranger) == before
    with pytest.raises(Invalid, match="Name the company"):
        opps.create(session=session, principal=rep, values=dict(kind="fleet", quantity=12))
    fleet = opps.create(session=session, principal=rep, values=dict(
        kind="fleet", account_name="Stadtwerke Kiel", quantity=12, model_id=make.trim().model_id,
        rfp_reference="SWK-2026-07", rfp_due=date.today() + timedelta(days=20), rfp_requirements="Tow bar"))
    assert fleet.title.startswith("Stadtwerke Kiel: 12 × Aurora")
    assert fleet.customer_id is None and fleet.rfp_reference == "SWK-2026-07"
    assert opps.load(session=session, principal=rep, opportunity_id=fleet.id) is fleet
    assert [o.id for o in opps.list_for_dealer(session=session, principal=rep)] == [fleet.id]


# --- leads ------------------------------------------------------------------------------------------

def test_converting_a_lead_takes_its_customer_car_and_price_once(make, session, shop):
    dealer, rep, customer = shop
    config = configuration(make, total=43990)
    source = lead(make, dealer, customer, configuration_id=config.id)
    deal = opps.open_from_lead(session=session, principal=rep, lead_id=source.id)
    assert (deal.customer_id, deal.lead_id, deal.configuration_id, float(deal.amount)) == (
        customer.id, source.id, config.id, 43990.0)
    assert deal.model_id == make.trim().model_id and deal.owner_user_id == rep.user_id
    assert source.status == "converted" and changes_of(session, deal)[0][:2] == (None, "new")
    with pytest.raises(Conflict, match=f"already opportunity #{deal.id}") as twice:
        opps.open_from_lead(session=session, principal=rep, lead_id=source.id)
    assert twice.value.opportunity_id == deal.id


def test_a_lead_of_another_dealer_or_without_consent_is_not_found(make, session, shop):
    dealer, rep, customer = shop
    other = make.dealer()
    with pytest.raises(NotFound):
        opps.open_from_lead(session=session, principal=rep, lead_id=lead(make, other, customer).id)
    silent = make.customer()
    quiet_lead = lead(make, dealer, silent)
    with pytest.raises(NotFound):
        opps.open_from_lead(session=session, principal=rep, lead_id=quiet_lead.id)
    assert quiet_lead.status == "new" and access_rows(session, silent) == 0
    assert session.scalar(select(func.count(Opportunity.id)).where(Opportunity.lead_id == quiet_lead.id)) == 0


# --- working the deal -------------------------------------------------------------------------------

def test_update_checks_close_date_owner_and_factors(make, session, shop):
    dealer, rep, customer = shop
    deal = walk_in(session, rep, customer)
    with pytest.raises(Invalid, match="in the past"):
        opps.update(session=session, principal=rep, opportunity_id=deal.id,
                    changes={"expected_close": date.today() - timedelta(days=1)})
    advisor = make.staff(dealer, Role.DEALER_SERVICE)
    with pytest.raises(Invalid, match="active sales rep"):
        opps.update(session=session, principal=rep, opportunity_id=deal.id, changes={"owner_user_id": advisor.user_id})
    with pytest.raises(Invalid, match="Unknown buying factor 'colour'"):
        opps.update(session=session, principal=rep, opportunity_id=deal.id, changes={"buying_factors": {"colour": 1}})
    with pytest.raises(Invalid, match="fleet deals only"):
        opps.update(session=session, principal=rep, opportunity_id=deal.id, changes={"rfp_reference": "X"})
    colleague = make.staff(dealer, Role.DEALER_SALES)
    opps.update(session=session, principal=rep, opportunity_id=deal.id, changes={
        "amount": 39999, "expected_close": date.today() + timedelta(days=9), "owner_user_id": colleague.user_id,
        "buying_factors": {"price": True, "range_and_charging": False}})
    assert (float(deal.amount), deal.owner_user_id) == (39999.0, colleague.user_id)
    assert deal.buying_factors == {"price": True, "range_and_charging": False}


def test_activities_and_the_timeline(make, session, shop):
    _, rep, customer = shop
    model_id = make.trim().model_id
    with frozen_at(MONDAY):
        deal = walk_in(session, rep, customer)
        with pytest.raises(Invalid, match="which model"):
            opps.log_activity(session=session, principal=rep, opportunity_id=deal.id, kind="test_drive")
        with pytest.raises(Invalid, match="future"):
            opps.log_activity(session=session, principal=rep, opportunity_id=deal.id, kind="call",
                              happened_at=MONDAY + timedelta(days=1))
        advance(timedelta(hours=1))
        opps.log_activity(session=session, principal=rep, opportunity_id=deal.id, kind="call", notes="Wants EV")
        advance(timedelta(hours=1))
        drive = opps.log_activity(session=session, principal=rep, opportunity_id=deal.id, kind="test_drive",
                                  model_id=model_id, notes="Loved it")
        advance(timedelta(hours=1))
        opps.move(session=session, principal=rep, opportunity_id=deal.id, stage_code="offer")
    assert drive.customer_id == customer.id and drive.model_id == model_id
    texts = [e["text"] for e in opps.timeline(session=session, opportunity=deal)]
    assert texts[0] == "Moved from 'New' to 'Offer'"
    assert texts[1].startswith("Test drive (Aurora") and texts[1].endswith("Loved it")
    assert texts[2:] == ["Call: Wants EV", "Opened in 'New'"]


# --- targets ----------------------------------------------------------------------------------------

def test_targets_are_upserted_per_dealer_rep_and_month(make, session, shop):
    dealer, rep, _ = shop
    targets_service.set_target(session=session, dealer_id=dealer.id, month="2026-03", units=10, value=400000)
    targets_service.set_target(session=session, dealer_id=dealer.id, month="2026-03", units=12, value=480000)
    targets_service.set_target(session=session, dealer_id=dealer.id, user_id=rep.user_id, month="2026-03", units=4,
                               value=160000)
    rows = targets_service.targets_for(session=session, dealer_id=dealer.id, month_from="2026-03", month_to="2026-03")
    assert sorted((t.user_id or 0, t.units, float(t.value)) for t in rows) == [
        (0, 12, 480000.0), (rep.user_id, 4, 160000.0)]
    with pytest.raises(Invalid, match="YYYY-MM"):
        targets_service.set_target(session=session, dealer_id=dealer.id, month="2026-13", units=1, value=1)
    outsider = make.staff(make.dealer(), Role.DEALER_SALES)
    with pytest.raises(Invalid, match="sales rep of this dealership"):
        targets_service.set_target(session=session, dealer_id=dealer.id, user_id=outsider.user_id, month="2026-04",
                                   units=1, value=1)
