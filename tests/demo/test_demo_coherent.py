"""The demo does not contradict itself: the driver's car has driven, the insurer has scores to read,
mileages agree with the service book, deals and leads use the codes and numbers the product uses,
and help is never hundreds of kilometres away."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console
from sqlalchemy import select

from forecourt.consent.models import Grant
from forecourt.core.clock import frozen_at
from forecourt.core.config import get_settings
from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.core.geo import distance_km
from forecourt.customers.models import Customer
from forecourt.demo import driving, geography, korea_people, local_help
from forecourt.demo.network import build_demo_network
from forecourt.parties.models import Organization
from forecourt.sales import pipeline, scoring
from forecourt.sales.models import Lead, Opportunity
from forecourt.sales.opportunities import LOST_REASONS
from forecourt.telematics import health, score
from forecourt.telematics import service as telematics_service
from forecourt.telematics.models import Trip
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.models import Ownership

MOMENT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_url(fresh_database_url):
    url = fresh_database_url("coherent")
    with frozen_at(MOMENT):
        build_demo_network(settings=get_settings(database_url=url), console=Console(file=io.StringIO()),
                           customers=150, dealers=30, seed=5)
    return url


@pytest.fixture
def db(demo_url):
    session = make_sessionmaker(get_engine(demo_url))()
    with frozen_at(MOMENT + timedelta(minutes=1)):
        yield session
    session.close()


def _car_of(db, email: str) -> int:
    customer = db.scalar(select(Customer.id).where(Customer.email == email))
    return db.scalar(select(Ownership.vehicle_id).where(Ownership.customer_id == customer,
                                                        Ownership.ended_at.is_(None)))


@pytest.mark.parametrize("email", driving.DEMO_DRIVERS)
def test_the_demo_drivers_car_has_driven_and_is_not_pretending_to_be_live(db, email):
    vehicle_id = _car_of(db, email)
    rolling = score.rolling_score(session=db, vehicle_id=vehicle_id)
    assert rolling.trips >= 10 and rolling.distance_km > 50 and rolling.score is not None
    twin = telematics_service.twin_of(session=db, vehicle_id=vehicle_id)
    assert "Vehicle.TraveledDistance" in twin and "Vehicle.LowVoltageBattery.CurrentVoltage" in twin
    last = max(at for _, at in twin.values())
    assert timedelta(hours=1) < MOMENT - last < timedelta(days=2)  # reported today, but not this minute
    latest = db.scalars(select(Trip).where(Trip.vehicle_id == vehicle_id).order_by(Trip.started_at.desc())).first()
    assert not latest.is_open and len(latest.route) > 2  # she allows location services: the map has a route


def test_every_customer_sharing_driving_behaviour_with_an_insurer_has_a_score(db):
    sharing = set(db.scalars(select(Grant.customer_id).where(
        Grant.purpose_code == "driving_behaviour_insurance", Grant.withdrawn_at.is_(None))))
    cars = db.scalars(select(Ownership.vehicle_id).where(Ownership.customer_id.in_(sharing),
                                                         Ownership.ended_at.is_(None))).all()
    assert len(cars) >= 3
    scored = [score.rolling_score(session=db, vehicle_id=v) for v in cars]
    assert all(s.trips > 0 for s in scored)
    assert sum(s.score is not None for s in scored) >= 0.9 * len(scored)
    assert len({s.score for s in scored}) > 1  # drivers differ


def test_a_reporting_cars_mileage_agrees_with_its_service_book(db):
    cars = driving.chosen_cars(db, MOMENT)
    judged = health.judge_many(session=db, vehicle_ids=cars)
    assert judged
    for verdict in judged:
        assert verdict.service.km_left is not None
        # a car serviced within its interval's time has not driven past its distance: an average
        # year is 13,000 km, the interval 30,000 km or two years
        if verdict.service.days_left is not None and verdict.service.days_left >= 0:
            assert verdict.service.km_left > 0, verdict.service.text
    odometers = vehicles_service.likely_odometers_km(session=db, vehicle_ids=cars, today=MOMENT.date())
    last = vehicles_service.last_services(session=db, vehicle_ids=cars)
    for vehicle_id, km in odometers.items():
        if vehicle_id in last:
            assert km >= last[vehicle_id].odometer_km


def test_deals_use_the_products_lost_reasons_and_closed_deals_are_not_expected_later(db):
    reasons = set(db.scalars(select(Opportunity.lost_reason).where(Opportunity.status == "lost")))
    assert reasons and reasons <= set(LOST_REASONS)
    assert pipeline.LOST_REASONS is LOST_REASONS  # the dashboards name what the reps pick
    closed = db.execute(select(Opportunity.expected_close, Opportunity.closed_at)
                        .where(Opportunity.status.in_(("won", "lost")))).all()
    assert closed and all(expected <= at.date() for expected, at in closed)


def test_lead_scores_are_what_the_scorer_says(db):
    leads = list(db.scalars(select(Lead).where(Lead.status.in_(scoring.OPEN_STATUSES))))
    assert leads
    stored = {lead.id: (lead.score, list(lead.score_reasons)) for lead in leads}
    assert all(reasons for _, reasons in stored.values())
    scorer = scoring.Scorer.train(session=db, extra=leads)
    for lead in leads:
        scorer.score(lead)
        assert (lead.score, lead.score_reasons) == stored[lead.id]
    db.rollback()


@pytest.mark.parametrize("market", ["DE", "KR"])
def test_towing_and_emergency_help_within_30_km_of_every_town(db, market):
    towns = korea_people.towns() if market == "KR" else geography.home_towns(
        [geography.city_named(name) for name in db.scalars(select(Organization.city).where(
            Organization.kind == "dealer", Organization.market == "DE")).unique()])
    for kind in local_help.KINDS:
        places = db.execute(select(Organization.latitude, Organization.longitude).where(
            Organization.kind == "partner", Organization.partner_kind == kind)).all()
        for town in towns:
            nearest = min(distance_km(town.latitude, town.longitude, lat, lon) for lat, lon in places)
            assert nearest <= local_help.RADIUS_KM, (kind, town.name, nearest)


@pytest.mark.parametrize("email", driving.DEMO_DRIVERS)
def test_the_demo_drivers_car_takes_remote_commands_and_shows_each_outcome(db, email):
    from forecourt.telematics import commands
    from forecourt.telematics.simulator.locks import LOCKED_PATH

    vehicle_id = _car_of(db, email)
    history = commands.commands_of(session=db, vehicle_id=vehicle_id)
    assert {c.status for c in history} == {"acknowledged", "refused", "timed_out"}
    assert all(c.issued_at < c.expires_at and c.sent_at is not None for c in history)
    assert telematics_service.twin_of(session=db, vehicle_id=vehicle_id)[LOCKED_PATH][0] is True
    car = vehicles_service.get(session=db, vehicle_id=vehicle_id)
    live = commands.request(session=db, vin=car.vin, action="lock", reason="owner:app",  # she can lock it now
                            deadline=timedelta(seconds=30), now=MOMENT)
    assert (live.transport, live.status) == ("mqtt", "pending")
    db.rollback()


def test_the_demo_cases_came_from_sources_the_console_names(db):
    """A past case "via mqtt" named a transport, not where the alert came from."""
    from forecourt.assist.models import Case
    from forecourt.web.views.console import SOURCE_LABEL, closed_rows

    sources = set(db.scalars(select(Case.source)))
    assert sources and sources <= set(SOURCE_LABEL)
    assert closed_rows(db)  # the console has a history to show


@pytest.mark.parametrize("email", driving.DEMO_DRIVERS)
def test_the_demo_drivers_have_one_message_holding_several_offers_each_naming_its_sender(db, email):
    from forecourt.engagement import responses

    customer = db.scalar(select(Customer.id).where(Customer.email == email))
    inbox = responses.inbox(session=db, customer_id=customer)
    assert inbox, "the demo driver's offers inbox is empty"
    assert all(item["sender"] for message in inbox for item in message["items"])
    assert any(len(message["items"]) >= 2 for message in inbox), "no message holds more than one offer"


def test_the_engagement_dashboard_has_both_groups_and_take_up(db):
    from forecourt.engagement import dashboard

    figures = dashboard.figures(session=db)
    assert {row["arm"] for row in figures["arms"]} == {"coordinated", "control"}
    assert any(row["accepted"] for row in figures["take_up"])


def test_the_german_driver_holds_a_finance_contract_whose_end_brings_the_lenders_offer(db):
    from forecourt.demo import driver
    from forecourt.engagement.models import MessageItem, Occasion, Offer
    from forecourt.sales.models import FinanceContract

    customer = db.scalar(select(Customer.id).where(Customer.email == driver.EMAIL))
    [contract] = db.scalars(select(FinanceContract).where(FinanceContract.customer_id == customer))
    assert 0 < (contract.ends_on - MOMENT.date()).days <= 90, "the contract's end is not near enough for its occasion"
    lender = db.get(Organization, contract.organization_id)
    assert (lender.kind, lender.partner_kind) == ("partner", "finance")
    occasion = db.scalar(select(Occasion).where(Occasion.customer_id == customer, Occasion.kind == "finance_ends"))
    assert occasion is not None and occasion.message_id is not None
    senders = set(db.scalars(select(Offer.organization_id).join(MessageItem, MessageItem.offer_id == Offer.id)
                             .where(MessageItem.message_id == occasion.message_id)))
    assert lender.id in senders, "the lender's offer for the contract's end is not in the driver's message"
    # other drivers' contracts too, each the current owner's
    others = db.scalars(select(FinanceContract).where(FinanceContract.customer_id != customer)).all()
    assert others and all(db.scalar(select(Ownership.customer_id).where(
        Ownership.vehicle_id == c.vehicle_id, Ownership.ended_at.is_(None))) == c.customer_id for c in others)
