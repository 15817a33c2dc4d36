"""The demo shows car sharing alive: hubs at the demo dealers (the first German and Korean dealer's service
logins among them) with cars, a trip on the road, bookings to come, a test drive, and past trips whose
stored bills are what their recorded events give again."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from rich.console import Console
from sqlalchemy import func, select

from forecourt.core.clock import frozen_at
from forecourt.core.config import get_settings
from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.demo import korea, organizations
from forecourt.demo.network import build_demo_network
from forecourt.parties.models import User
from forecourt.sharing import billing, reservations
from forecourt.sharing.models import Bill, Hub, Reservation, SharedCar

MOMENT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def db(fresh_database_url):
    url = fresh_database_url("sharing_demo")
    with frozen_at(MOMENT):
        build_demo_network(settings=get_settings(database_url=url), console=Console(file=io.StringIO()),
                           customers=150, dealers=30, seed=5)
    session = make_sessionmaker(get_engine(url))()
    with frozen_at(MOMENT + timedelta(minutes=1)):
        yield session
    session.close()


def test_hubs_with_cars_at_the_dealers_whose_service_staff_can_log_in(db):
    logins = [f"service@{organizations.first_dealer_slug()}.example"] + [
        login.email for login in korea.logins() if login.role == "dealer service"]
    dealers = set(db.scalars(select(User.organization_id).where(User.email.in_(logins))))
    hub_dealers = set(db.scalars(select(Hub.dealer_id)))
    assert dealers <= hub_dealers and len(hub_dealers) >= 4
    assert db.scalar(select(func.count(SharedCar.id))) == 4 * len(hub_dealers)


def test_trips_under_way_bookings_to_come_and_past_trips_billed_from_their_events(db):
    by_status = dict(db.execute(select(Reservation.status, func.count()).group_by(Reservation.status)).all())
    assert by_status["active"] >= 1 and by_status["booked"] >= 2 and by_status["closed"] >= 3
    assert db.scalar(select(func.count(Reservation.id)).where(Reservation.kind == "test_drive")) >= 1
    assert reservations.overlapping(session=db) == []
    for bill in db.scalars(select(Bill).limit(10)):
        again = billing.recompute(session=db, reservation=db.get(Reservation, bill.reservation_id))
        assert Decimal(again["total"]) == bill.total and again["lines"] == bill.lines
