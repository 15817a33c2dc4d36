"""Booking: one bay step claimed per 30 minutes; a second claim is refused in words with the next times."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from forecourt.core.clock import frozen_at
from forecourt.core.errors import Conflict, Invalid
from forecourt.workshop import booking
from forecourt.workshop.models import Appointment, BaySlot
from tests.workshop.booking_scene import SUNDAY_NOON, WEEKDAYS, utc


@pytest.fixture(autouse=True)
def sunday_noon():
    with frozen_at(SUNDAY_NOON):
        yield


@pytest.fixture
def shop(make):
    return make.dealer(name="Autohaus Bucht", opening_hours=WEEKDAYS, service_bays=2)


@pytest.fixture
def car(make):
    return make.vehicle(owner=make.customer())


def _book(session, shop, car, *, bay=1, at=None, job="inspection", **kwargs):
    return booking.book(session=session, dealer_id=shop.id, vehicle_id=car.id, customer_id=None, bay=bay,
                        starts_at=at or utc(2, 9), job=job, source="owner", **kwargs)


def _claims(session, appointment) -> list[datetime]:
    return list(session.scalars(select(BaySlot.starts_at).where(BaySlot.appointment_id == appointment.id)
                                .order_by(BaySlot.starts_at)))


def test_booking_claims_one_step_per_half_hour(session, shop, car):
    appointment = _book(session, shop, car, job="oil_service", reason="Service due")
    assert (appointment.status, appointment.source, appointment.job) == ("confirmed", "owner", "oil_service")
    assert appointment.ends_at == utc(2, 10, 30)
    assert len(_claims(session, appointment)) == 3


def test_an_overlapping_booking_of_the_same_bay_is_refused_with_the_next_free_times(session, shop, car):
    first = _book(session, shop, car, at=utc(2, 9))
    with pytest.raises(booking.SlotTaken) as refused:
        _book(session, shop, car, at=utc(2, 10))  # overlaps 10:00-11:00
    assert isinstance(refused.value, Conflict)
    assert refused.value.message.startswith("That time was just taken; here are the next free ones:")
    assert refused.value.alternatives and all(
        s.starts_at >= utc(2, 8) for s in refused.value.alternatives)
    # the caller's transaction is intact: the first booking stands, nothing of the second remains
    assert session.scalar(select(func.count(Appointment.id)).where(Appointment.dealer_id == shop.id)) == 1
    assert len(_claims(session, first)) == 4
    # the other bay at the same time, and the same bay right after, are fine
    _book(session, shop, car, bay=2, at=utc(2, 10))
    _book(session, shop, car, bay=1, at=utc(2, 11))
    assert booking.overlapping_appointments(session=session, dealer_id=shop.id) == []


@pytest.mark.parametrize(("changes", "words"), [
    (dict(at=utc(8, 9)), "closed on Sunday."),
    (dict(at=utc(2, 17)), "open 08:00–18:00 on Monday; “Inspection” takes 2 h and does not fit starting at 17:00"),
    (dict(at=utc(2, 6)), "does not fit"),
    (dict(at=utc(2, 9, 15)), "on the hour or half hour"),
    (dict(bay=3), "has bays 1 to 2; there is no bay 3"),
    (dict(job="polish"), "Unknown job 'polish'"),
])
def test_bad_bookings_are_refused_in_words(session, shop, car, changes, words):
    with pytest.raises(Invalid) as refused:
        _book(session, shop, car, **changes)
    assert words in refused.value.message


def test_no_booking_in_the_past(session, shop, car):
    with frozen_at(utc(2, 12)), pytest.raises(Invalid, match="already passed"):
        _book(session, shop, car, at=utc(2, 9))


def test_a_time_without_zone_is_refused(session, shop, car):
    with pytest.raises(Invalid, match="time zone"):
        _book(session, shop, car, at=datetime(2025, 6, 2, 9, 0))


def test_cancel_frees_the_bay(session, shop, car):
    first = _book(session, shop, car)
    booking.cancel(session=session, appointment=first)
    assert first.status == "cancelled" and first.cancelled_at is not None
    assert _claims(session, first) == []
    again = _book(session, shop, car)
    assert len(_claims(session, again)) == 4


def test_an_owner_cannot_cancel_once_it_began(session, shop, car):
    appointment = _book(session, shop, car)
    with frozen_at(utc(2, 9, 30)), pytest.raises(Conflict, match="already begun"):
        booking.cancel(session=session, appointment=appointment)


def test_reschedule_moves_the_claims_or_keeps_the_old_time(session, shop, car):
    appointment = _book(session, shop, car, at=utc(2, 9))
    booking.reschedule(session=session, appointment=appointment, bay=1, starts_at=utc(2, 10))  # overlaps itself
    assert _claims(session, appointment)[0] == utc(2, 10)
    blocker = _book(session, shop, car, at=utc(3, 9))
    with pytest.raises(booking.SlotTaken):
        booking.reschedule(session=session, appointment=appointment, bay=1, starts_at=utc(3, 9, 30))
    assert appointment.starts_at == utc(2, 10)
    assert [c for c in _claims(session, appointment)] == [utc(2, 10), utc(2, 10, 30), utc(2, 11), utc(2, 11, 30)]
    assert len(_claims(session, blocker)) == 4
