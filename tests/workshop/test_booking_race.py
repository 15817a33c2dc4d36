"""A real race: threads with their own sessions and transactions book the same bay at the same time.

On PostgreSQL the inserts really run concurrently and the primary key lets exactly one through;
on SQLite writers take the write lock in turn (the race serialises), and the answer is the same.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from forecourt.core.clock import frozen_at
from forecourt.core.db import claim_write, get_engine, make_sessionmaker
from forecourt.core.errors import Conflict
from forecourt.workshop import booking
from forecourt.workshop.models import Appointment, BaySlot
from tests.factories import Factory
from tests.workshop.booking_scene import SUNDAY_NOON, WEEKDAYS, utc

RACERS = 8


def test_concurrent_bookings_of_one_bay_and_time_let_exactly_one_through(fresh_database_url):
    sessions = make_sessionmaker(get_engine(fresh_database_url("race")))
    with frozen_at(SUNDAY_NOON):
        with sessions() as setup:
            make = Factory(session=setup, client=None)
            shop = make.dealer(opening_hours=WEEKDAYS, service_bays=1)
            cars = [make.vehicle() for _ in range(RACERS)]
            setup.commit()

    start = threading.Barrier(RACERS)
    outcomes: list[object] = []
    lock = threading.Lock()

    def race(car_id: int) -> None:
        with frozen_at(SUNDAY_NOON), sessions() as session:
            start.wait(timeout=30)
            claim_write(session)  # SQLite: queue for the write lock (PostgreSQL: a no-op option)
            try:
                appointment = booking.book(session=session, dealer_id=shop.id, vehicle_id=car_id, customer_id=None,
                                           bay=1, starts_at=utc(2, 9) + timedelta(minutes=30 * (car_id % 2)),
                                           job="inspection", source="owner")
                session.commit()
                result: object = appointment.id
            except Conflict as error:
                session.rollback()
                result = error
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=race, args=(car.id,)) for car in cars]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    booked = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(outcomes) == RACERS
    assert len(booked) == 1, outcomes
    assert len(refused) == RACERS - 1
    assert all("That time was just taken" in error.message for error in refused)
    with sessions() as check:
        assert check.scalar(select(func.count(Appointment.id)).where(Appointment.dealer_id == shop.id)) == 1
        assert check.scalar(select(func.count()).select_from(BaySlot).where(BaySlot.dealer_id == shop.id)) == 4
        assert booking.overlapping_appointments(session=check, dealer_id=shop.id) == []
