"""Reserving: the free hold, booking, cancelling, extending, expiry, and the refusals that change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.core.clock import advance, frozen_at
from forecourt.core.errors import Conflict, Invalid
from forecourt.payments import service as payments_service
from forecourt.sharing import hubs, reservations
from forecourt.sharing.models import CarSlot, Reservation
from tests.sharing.scene import GATEWAY, hub_with_cars, ready_driver

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def slots(session, reservation) -> int:
    return session.scalar(select(func.count()).select_from(CarSlot).where(CarSlot.reservation_id == reservation.id))


def test_a_reservation_holds_the_car_free_then_books_it_with_a_deposit(make, session):
    with frozen_at(NOON):
        _dealer, hub, (car, _other) = hub_with_cars(make)
        driver = ready_driver(make)
        held = reservations.reserve(session=session, gateway=GATEWAY, customer_id=driver.id, car_id=car.id,
                                    starts_at=NOON + timedelta(minutes=30), hours=2)
        assert held.status == "held" and held.hold_until == NOON + timedelta(minutes=15)
        assert slots(session, held) == 8
        deposit = payments_service.get(session=session, payment_id=held.deposit_payment_id)
        assert (deposit.amount, deposit.currency, deposit.capture, deposit.payee_id) == (
            100, "EUR", "manual", hub.dealer_id)
        assert reservations.confirm(session=session, reservation=held).status == "booked"


def test_a_hold_nobody_confirms_frees_the_car(make, session):
    with frozen_at(NOON):
        _dealer, _hub, (car, _other) = hub_with_cars(make)
        driver = ready_driver(make)
        held = reservations.reserve(session=session, gateway=GATEWAY, customer_id=driver.id, car_id=car.id,
                                    starts_at=None, hours=1)
        advance(timedelta(minutes=16))
        assert reservations.expire_holds(session=session) >= 1
        assert held.status == "expired" and slots(session, held) == 0
        with pytest.raises(Conflict, match="free hold has run out"):
            reservations.confirm(session=session, reservation=held)


def test_overlapping_times_of_one_car_are_refused_and_the_other_car_is_free(make, session):
    with frozen_at(NOON):
        _dealer, hub, (car, other) = hub_with_cars(make)
        first, second = ready_driver(make), ready_driver(make)
        reservations.reserve(session=session, gateway=GATEWAY, customer_id=first.id, car_id=car.id,
                             starts_at=NOON + timedelta(hours=1), hours=2)
        with pytest.raises(Conflict, match="just booked by someone else"):
            reservations.reserve(session=session, gateway=GATEWAY, customer_id=second.id, car_id=car.id,
                                 starts_at=NOON + timedelta(hours=2), hours=2)
        assert session.scalar(select(func.count(Reservation.id)).where(Reservation.customer_id == second.id)) == 0
        found = hubs.search(session=session, latitude=52.52, longitude=13.40, starts_at=NOON + timedelta(hours=2),
                            hours=1)
        mine = next(f for f in found if f.hub_id == hub.id)
        assert mine.car_ids == [other.id]
        reservations.reserve(session=session, gateway=GATEWAY, customer_id=second.id, car_id=car.id,
                             starts_at=NOON + timedelta(hours=3), hours=1)
        assert reservations.overlapping(session=session, car_id=car.id) == []


def test_extending_runs_until_the_next_booking_and_no_further(make, session):
    with frozen_at(NOON):
        _dealer, _hub, (car, _other) = hub_with_cars(make)
        first, second = ready_driver(make), ready_driver(make)
        mine = reservations.reserve(session=session, gateway=GATEWAY, customer_id=first.id, car_id=car.id,
                                    starts_at=NOON, hours=1)
        reservations.reserve(session=session, gateway=GATEWAY, customer_id=second.id, car_id=car.id,
                             starts_at=NOON + timedelta(hours=2), hours=1)
        reservations.extend(session=session, reservation=mine, minutes=60)
        assert mine.ends_at == NOON + timedelta(hours=2) and slots(session, mine) == 8
        with pytest.raises(Conflict, match="Someone else has this car from 2026-06-01 14:00"):
            reservations.extend(session=session, reservation=mine, minutes=15)
        assert mine.ends_at == NOON + timedelta(hours=2) and slots(session, mine) == 8


def test_cancel_frees_the_car_and_closes_the_deposit_request(make, session):
    with frozen_at(NOON):
        _dealer, _hub, (car, _other) = hub_with_cars(make)
        driver = ready_driver(make)
        held = reservations.reserve(session=session, gateway=GATEWAY, customer_id=driver.id, car_id=car.id,
                                    starts_at=NOON, hours=1)
        reservations.cancel(session=session, reservation=held)
        assert held.status == "cancelled" and slots(session, held) == 0
        assert payments_service.get(session=session, payment_id=held.deposit_payment_id).status == "cancelled"
        with pytest.raises(Conflict):
            reservations.cancel(session=session, reservation=held)


def test_a_driver_without_terms_or_licence_check_cannot_reserve(make, session):
    with frozen_at(NOON):
        _dealer, _hub, (car, _other) = hub_with_cars(make)
        stranger = make.customer()
        with pytest.raises(Invalid, match="Accept the car-sharing terms"):
            reservations.reserve(session=session, gateway=GATEWAY, customer_id=stranger.id, car_id=car.id,
                                 starts_at=None, hours=1)
        from forecourt.sharing import profiles
        profiles.accept_terms(session=session, customer_id=stranger.id)
        with pytest.raises(Invalid, match="check your driving licence"):
            reservations.reserve(session=session, gateway=GATEWAY, customer_id=stranger.id, car_id=car.id,
                                 starts_at=None, hours=1)


def test_a_tampered_price_books_nothing(make, session):
    with frozen_at(NOON):
        _dealer, _hub, (car, _other) = hub_with_cars(make)
        driver = ready_driver(make)
        with pytest.raises(Conflict, match="price has changed or was altered"):
            reservations.reserve(session=session, gateway=GATEWAY, customer_id=driver.id, car_id=car.id,
                                 starts_at=None, hours=1, quoted_deposit="0.01")
        assert session.scalar(select(func.count(Reservation.id)).where(Reservation.customer_id == driver.id)) == 0


def test_a_test_drive_is_a_day_at_the_free_tariff_and_out_of_service_cars_are_not_offered(make, session):
    with frozen_at(NOON):
        _dealer, hub, (car, other) = hub_with_cars(make)
        driver = ready_driver(make)
        trial = reservations.reserve(session=session, gateway=GATEWAY, customer_id=driver.id, car_id=car.id,
                                     starts_at=NOON, kind="test_drive", share_summary=True)
        assert trial.ends_at - trial.starts_at == timedelta(hours=24)
        assert trial.tariff["per_minute_driving"] == "0.00" and trial.deposit_payment_id is None
        hubs.set_out_of_service(session=session, car_id=other.id, out=True, note="windscreen")
        assert all(f.hub_id != hub.id for f in hubs.search(session=session, latitude=52.52, longitude=13.40))
        with pytest.raises(Conflict, match="out of service"):
            reservations.reserve(session=session, gateway=GATEWAY, customer_id=driver.id, car_id=other.id,
                                 starts_at=NOON + timedelta(days=2), hours=1)
