"""A real race: drivers in their own threads, sessions and transactions reserve one car at overlapping times.

On PostgreSQL the inserts run concurrently and the slot table's primary key lets exactly one through;
on SQLite writers take the write turn one after the other, and the answer is the same.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from forecourt.core.clock import frozen_at
from forecourt.core.db import claim_write, get_engine, make_sessionmaker
from forecourt.core.errors import Conflict
from forecourt.sharing import reservations
from forecourt.sharing.models import CarSlot, Reservation
from tests.factories import Factory
from tests.sharing.scene import GATEWAY, hub_with_cars, ready_driver

RACERS = 8
NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_concurrent_reservations_of_one_car_at_overlapping_times_let_exactly_one_through(fresh_database_url):
    sessions = make_sessionmaker(get_engine(fresh_database_url("sharing_race")))
    with frozen_at(NOON), sessions() as setup:
        make = Factory(session=setup, client=None)
        _dealer, _hub, (car,) = hub_with_cars(make, cars=1)
        drivers = [ready_driver(make).id for _ in range(RACERS)]
        setup.commit()
        car_id = car.id

    start = threading.Barrier(RACERS)
    outcomes: list[object] = []
    lock = threading.Lock()

    def race(index: int, customer_id: int) -> None:
        with frozen_at(NOON), sessions() as session:
            start.wait(timeout=30)
            claim_write(session)
            try:  # each asks for a different but overlapping window
                found = reservations.reserve(session=session, gateway=GATEWAY, customer_id=customer_id, car_id=car_id,
                                             starts_at=NOON + timedelta(minutes=15 * (index % 4) + 30), hours=2)
                session.commit()
                result: object = found.id
            except Conflict as error:
                session.rollback()
                result = error
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=race, args=(i, d)) for i, d in enumerate(drivers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    booked = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(outcomes) == RACERS and len(booked) == 1, outcomes
    assert all("just booked by someone else" in error.message for error in refused)
    with sessions() as check:
        assert check.scalar(select(func.count(Reservation.id)).where(Reservation.car_id == car_id)) == 1
        assert check.scalar(select(func.count()).select_from(CarSlot).where(CarSlot.car_id == car_id)) == 8
        assert reservations.overlapping(session=check, car_id=car_id) == []
