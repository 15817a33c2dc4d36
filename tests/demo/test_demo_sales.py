"""The demo network comes with eighteen months of sales that keep the platform's consent rules."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console
from sqlalchemy import func, select

from forecourt.consent.models import Grant
from forecourt.core.clock import as_utc, frozen_at
from forecourt.core.config import get_settings
from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.demo.network import build_demo_network
from forecourt.parties.models import User
from forecourt.sales.routing_reasons import explain
from forecourt.sales import rollup
from forecourt.sales.models import Activity, Lead, Opportunity, StageChange, Target

MOMENT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(fresh_database_url):
    url = fresh_database_url("demosales")
    with frozen_at(MOMENT):
        network = build_demo_network(settings=get_settings(database_url=url), customers=150, dealers=12, seed=5,
                                     console=Console(file=io.StringIO()))
    session = make_sessionmaker(get_engine(url))()
    yield network, session
    session.close()


def test_deals_spread_over_dealers_reps_models_and_outcomes(demo):
    network, db = demo
    assert network.counts["sales_opportunities"] == db.scalar(select(func.count(Opportunity.id))) >= 12 * 50
    by_status = dict(db.execute(select(Opportunity.status, func.count()).group_by(Opportunity.status)).all())
    assert by_status["won"] > 0 and by_status["lost"] > 0 and by_status["open"] > 0
    assert db.scalar(select(func.count(func.distinct(Opportunity.dealer_id)))) == 12 + 3  # and the Korean three
    assert db.scalar(select(func.count(func.distinct(Opportunity.model_id)))) >= 2
    reps = set(db.scalars(select(User.id).where(User.role == "dealer_sales")))
    assert set(db.scalars(select(func.distinct(Opportunity.owner_user_id)))) <= reps
    assert db.scalar(select(func.count()).where(Opportunity.status == "lost", Opportunity.post_mortem != "")) > 0
    assert db.scalar(select(func.count()).where(Opportunity.status == "lost", Opportunity.lost_reason.is_(None))) == 0
    overdue = db.scalar(select(func.count()).where(Opportunity.status == "open",
                                                   Opportunity.expected_close < MOMENT.date()))
    assert overdue > 0
    oldest = as_utc(db.scalar(select(func.min(Opportunity.created_at))))
    assert MOMENT - timedelta(days=560) < oldest < MOMENT - timedelta(days=450)  # about eighteen months


def test_the_pipelines_rollup_counts_every_deal_the_demo_wrote_in_bulk(demo):
    _, db = demo
    assert rollup.differences(session=db) == []  # also the Korean deals, repriced in won after they were written
    assert db.scalar(select(func.sum(rollup.StartedDeals.deals))) == db.scalar(select(func.count(Opportunity.id)))
    assert db.scalar(select(func.sum(rollup.ClosedDeals.deals))) == db.scalar(
        select(func.count(Opportunity.id)).where(Opportunity.status.in_(("won", "lost"))))


def test_every_deal_has_its_stage_changes_in_order(demo):
    _, db = demo
    assert db.scalar(select(func.count(func.distinct(StageChange.opportunity_id)))) == db.scalar(
        select(func.count(Opportunity.id)))
    won = db.scalars(select(Opportunity).where(Opportunity.status == "won").limit(20)).all()
    for deal in won:
        moves = db.scalars(select(StageChange).where(StageChange.opportunity_id == deal.id)
                           .order_by(StageChange.changed_at, StageChange.id)).all()
        assert moves[0].from_stage is None and moves[0].to_stage == "new" and moves[-1].to_stage == "won"
        assert all(a.to_stage == b.from_stage for a, b in zip(moves, moves[1:], strict=False))


def test_people_appear_only_where_they_allowed_the_dealer_sales_contact(demo):
    _, db = demo
    allowed = set(db.execute(select(Grant.customer_id, Grant.organization_id).where(
        Grant.purpose_code == "sales_contact", Grant.withdrawn_at.is_(None))).all())
    leads = db.execute(select(Lead.customer_id, Lead.dealer_id, Lead.status, Lead.source, Lead.routing_facts)).all()
    assert leads and all((c, d) in allowed for c, d, *_ in leads)
    assert len({status for _, _, status, _, _ in leads}) >= 3
    assert all(explain(facts) for *_, facts in leads)  # every lead says why it went to its dealer
    linked = db.execute(select(Opportunity.customer_id, Opportunity.dealer_id)
                        .where(Opportunity.customer_id.is_not(None))).all()
    assert linked and all(tuple(row) in allowed for row in linked)
    drives = db.execute(select(Activity.customer_id, Activity.dealer_id, Activity.model_id)
                        .where(Activity.kind == "test_drive")).all()
    assert drives and all((c, d) in allowed and m is not None for c, d, m in drives)


def test_monthly_targets_for_each_dealer(demo):
    _, db = demo
    per_dealer = db.execute(select(Target.dealer_id, func.count()).where(Target.user_id.is_(None))
                            .group_by(Target.dealer_id)).all()
    assert len(per_dealer) == 12 + 3 and all(count >= 18 for _, count in per_dealer)
    assert db.scalar(select(func.min(Target.units))) >= 1


def test_the_same_seed_builds_the_same_sales(fresh_database_url):
    counts = []
    for _ in range(2):
        url = fresh_database_url("demosame")
        with frozen_at(MOMENT):
            network = build_demo_network(settings=get_settings(database_url=url), customers=60, dealers=5, seed=9,
                                         console=Console(file=io.StringIO()))
        session = make_sessionmaker(get_engine(url))()
        amounts = session.scalar(select(func.sum(Opportunity.amount)))
        session.close()
        counts.append(({k: v for k, v in network.counts.items() if k.startswith("sales_")}, float(amounts)))
    assert counts[0] == counts[1]


def test_deals_come_from_leads_and_say_why_they_were_won_or_lost(demo):
    """The insights page has something to show: a plausible share of closed deals started as a lead with a
    source, earlier than the deal; buying factors are ticked; fleet deals answer tenders."""
    _, db = demo
    closed = db.scalar(select(func.count()).where(Opportunity.status.in_(("won", "lost"))))
    linked = db.scalar(select(func.count()).where(Opportunity.status.in_(("won", "lost")),
                                                  Opportunity.lead_id.is_not(None)))
    assert 0.15 * closed < linked < 0.6 * closed
    pairs = db.execute(select(Lead, Opportunity).join(Opportunity, Opportunity.lead_id == Lead.id)).all()
    for lead, deal in pairs:
        assert lead.status == "converted" and lead.dealer_id == deal.dealer_id and lead.source
        assert lead.customer_id == deal.customer_id and lead.last_name
        assert as_utc(lead.created_at) <= as_utc(deal.created_at)
    assert {lead.source for lead, _ in pairs} == {"web_form", "test_drive", "event", "configuration"}
    unconverted = db.scalar(select(func.count()).where(Lead.status.in_(("contacted", "disqualified", "new"))))
    assert unconverted > len(pairs) * 0.5
    converted_alone = db.scalar(select(func.count()).select_from(Lead).where(
        Lead.status == "converted", ~select(Opportunity.id).where(Opportunity.lead_id == Lead.id).exists()))
    assert converted_alone == 0
    named = [d.buying_factors for d in db.scalars(select(Opportunity).where(Opportunity.status == "won").limit(200))]
    assert sum(1 for factors in named if factors) > 100
    assert db.scalar(select(func.count()).where(Opportunity.kind == "fleet", Opportunity.rfp_reference.is_not(None))) > 0
