"""The demo's recall campaigns: three campaigns over demo models, owners told, a curve to chart."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from rich.console import Console
from sqlalchemy import func, select

from forecourt.consent.models import AccessLogEntry
from forecourt.core.clock import frozen_at
from forecourt.core.config import get_settings
from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.core.outbox import OutboxMessage
from forecourt.customers.models import Customer
from forecourt.demo import driver
from forecourt.demo.network import build_demo_network
from forecourt.vehicles import recalls
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.models import RecallCampaign, ServiceRecord

MOMENT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def db(fresh_database_url):
    url = fresh_database_url("recalldemo")
    with frozen_at(MOMENT):
        build_demo_network(settings=get_settings(database_url=url), console=Console(file=io.StringIO()),
                           customers=300, dealers=12, seed=5)
    session = make_sessionmaker(get_engine(url))()
    yield session
    session.rollback()
    session.close()


def test_demo_campaigns_have_owners_told_and_a_curve(db):
    with frozen_at(MOMENT):
        campaigns = {c["code"]: c for c in recalls.list_campaigns(session=db)}
        assert set(campaigns) == {"RC-DEMO-011", "RC-DEMO-017", "RC-DEMO-023"}
        old = recalls.campaign_progress(session=db, campaign_id=db.scalar(
            select(RecallCampaign.id).where(RecallCampaign.code == "RC-DEMO-011")))
    assert old["affected"] > 10 and 0.5 < old["completion"] < 1
    curve = [p["remedied"] for p in old["over_time"]]
    assert curve == sorted(curve) and curve[0] == 0 and curve[-1] == old["remedied"] and len(set(curve)) > 4
    assert len(old["per_dealer"]) > 1
    assert db.scalar(select(func.count(ServiceRecord.id)).where(ServiceRecord.kind == "recall")) == sum(
        c["remedied"] for c in campaigns.values())
    # every notice rests on the legal obligation, and the owners' access logs carry the campaign code
    assert db.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.topic == "recall",
                                                                OutboxMessage.basis != "legal_obligation")) == 0
    assert db.scalar(select(func.count(AccessLogEntry.id)).where(AccessLogEntry.purpose_code == "safety_recalls",
                                                                 AccessLogEntry.reference == "RC-DEMO-011")) > 0
    # the newest campaign's e-mails wait for the sender
    assert db.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.dedupe_key.like("recall:RC-DEMO-023:%"),
                                                                OutboxMessage.channel == "email",
                                                                OutboxMessage.sent_at.is_(None))) > 0


def test_the_demo_driver_has_an_open_recall_and_a_message(db):
    lena = db.scalars(select(Customer).where(Customer.email == driver.EMAIL)).one()
    (car, _), *_ = vehicles_service.vehicles_of(session=db, customer_id=lena.id)
    assert [c.code for c in recalls.open_recalls_for(session=db, vehicle_id=car.id)] == ["RC-DEMO-017"]
    assert db.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.customer_id == lena.id,
                                                                OutboxMessage.channel == "in_app")) >= 1


def test_the_demo_driver_is_told_to_stop_driving_after_her_last_trip_not_before_it(db):
    from forecourt.telematics.models import Trip
    from forecourt.vehicles.models import RecallVehicle

    lena = db.scalars(select(Customer).where(Customer.email == driver.EMAIL)).one()
    (car, _), *_ = vehicles_service.vehicles_of(session=db, customer_id=lena.id)
    last_trip = db.scalar(select(func.max(Trip.ended_at)).where(Trip.vehicle_id == car.id))
    assert last_trip is not None  # she drives
    told = db.scalars(select(RecallVehicle.notified_at).where(RecallVehicle.vehicle_id == car.id)).one()
    notice = db.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == lena.id,
                                                    OutboxMessage.channel == "in_app",
                                                    OutboxMessage.dedupe_key.like("recall:RC-DEMO-017:%"))).one()
    assert last_trip < told <= MOMENT and last_trip < notice.created_at <= MOMENT


def test_the_demo_drivers_critical_recall_can_be_booked_and_is_never_all_good(db):
    from forecourt.telematics import health
    from forecourt.workshop import recall_work

    lena = db.scalars(select(Customer).where(Customer.email == driver.EMAIL)).one()
    (car, _), *_ = vehicles_service.vehicles_of(session=db, customer_id=lena.id)
    with frozen_at(MOMENT):
        [offer] = recall_work.offers_for_owner(session=db, customer_id=lena.id, vehicle=car)
        assert offer["critical"] and offer["slots"], offer.get("reason")
        assert offer["dealer"].id in (car.service_dealer_id, car.selling_dealer_id)
        first = offer["slots"][0]
        assert (first.ends_at - first.starts_at).total_seconds() == 90 * 60  # the campaign's labour time
        assert health.health_of(session=db, vehicle_id=car.id).status == "stop_safely"
