"""Free slots: opening hours × bays × job duration, minus claims; never past, never closed; best first."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from datetime import timedelta

import pytest

from forecourt.core.clock import frozen_at
from forecourt.workshop import booking
from forecourt.workshop.jobs import get_job
from forecourt.workshop.models import Availability
from forecourt.workshop.slots import choose_dealer, free_slots
from tests.workshop.booking_scene import SUNDAY_NOON, WEEKDAYS, utc

LOCAL = ZoneInfo("Europe/Berlin")  # the test dealers' clock (their market's)


@pytest.fixture(autouse=True)
def sunday_noon():
    with frozen_at(SUNDAY_NOON):
        yield


def test_slots_fall_in_opening_hours_on_the_grid_and_never_on_closed_days(make, session):
    dealer = make.dealer(opening_hours={"mon": [["08:00", "18:00"]], "sat": [], "sun": []}, service_bays=2)
    slots = free_slots(session=session, dealer=dealer, job=get_job("inspection"), after=SUNDAY_NOON, limit=100)
    assert slots[0].starts_at == utc(2, 8) and slots[0].bay == 1
    for slot in slots:
        start, end = slot.starts_at.astimezone(LOCAL), slot.ends_at.astimezone(LOCAL)
        assert start.weekday() == 0, "only Mondays are open"
        assert start.minute in (0, 30) and start.second == 0
        assert end - start == timedelta(hours=2)
        assert start.hour >= 8 and (end.hour, end.minute) <= (18, 0)
    # a 2-hour job starts at the latest at 16:00 on a day closing at 18:00: 17 starts per Monday
    mondays = {slot.starts_at.date() for slot in slots}
    assert len(mondays) == 2 and len(slots) == 34


def test_no_slot_in_the_past(make, session):
    dealer = make.dealer(opening_hours=WEEKDAYS, service_bays=1)
    with frozen_at(utc(2, 10, 10)):  # Monday 10:10 local
        slots = free_slots(session=session, dealer=dealer, job=get_job("diagnosis"), after=utc(1, 0))
    assert slots[0].starts_at == utc(2, 10, 30)


def test_the_whole_job_fits_inside_one_opening_interval(make, session):
    dealer = make.dealer(opening_hours={"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}, service_bays=1)
    slots = free_slots(session=session, dealer=dealer, job=get_job("inspection"), after=SUNDAY_NOON, days=2,
                       limit=100)
    starts = [s.starts_at for s in slots]
    assert utc(2, 10) in starts and utc(2, 10, 30) not in starts and utc(2, 11) not in starts
    assert utc(2, 13) in starts and utc(2, 15) in starts and utc(2, 15, 30) not in starts


def test_a_dealer_without_bays_has_no_slots(make, session):
    dealer = make.dealer(opening_hours=WEEKDAYS, service_bays=0)
    assert free_slots(session=session, dealer=dealer, job=get_job("tyres"), after=SUNDAY_NOON) == []


def test_claimed_bays_are_skipped_and_the_calmer_time_comes_first(make, session):
    dealer = make.dealer(opening_hours=WEEKDAYS, service_bays=2)
    car = make.vehicle()
    booking.book(session=session, dealer_id=dealer.id, vehicle_id=car.id, customer_id=None, bay=1,
                 starts_at=utc(2, 8), job="inspection", source="advisor")
    slots = free_slots(session=session, dealer=dealer, job=get_job("inspection"), after=SUNDAY_NOON, limit=5)
    assert (slots[0].starts_at, slots[0].bay, slots[0].busy_bays) == (utc(2, 8), 2, 1)
    assert [s.starts_at for s in slots] == sorted(s.starts_at for s in slots)
    booking.book(session=session, dealer_id=dealer.id, vehicle_id=car.id, customer_id=None, bay=2,
                 starts_at=utc(2, 8), job="diagnosis", source="advisor")
    slots = free_slots(session=session, dealer=dealer, job=get_job("inspection"), after=SUNDAY_NOON, limit=3)
    # both bays busy at 08:00; bay 2 is free again at 09:00, bay 1 at 10:00
    assert [(s.starts_at, s.bay) for s in slots] == [(utc(2, 9), 2), (utc(2, 9, 30), 2), (utc(2, 10), 1)]


def test_slots_stay_within_the_owners_availability(make, session):
    dealer = make.dealer(opening_hours=WEEKDAYS, service_bays=3)
    windows = [Availability(weekday=2, from_time="14:00", to_time="17:00")]  # Wednesdays afternoon
    slots = free_slots(session=session, dealer=dealer, job=get_job("oil_service"), after=SUNDAY_NOON,
                       availability=windows, limit=50)
    assert slots and all(s.starts_at.astimezone(LOCAL).weekday() == 2 for s in slots)
    assert {s.starts_at.astimezone(LOCAL).strftime("%H:%M") for s in slots} == {"14:00", "14:30", "15:00", "15:30"}


def test_per_day_spreads_the_offer_over_days(make, session):
    dealer = make.dealer(opening_hours=WEEKDAYS, service_bays=1)
    slots = free_slots(session=session, dealer=dealer, job=get_job("diagnosis"), after=SUNDAY_NOON, per_day=2,
                       limit=6)
    days = [s.starts_at.date() for s in slots]
    assert len(slots) == 6 and len(set(days)) == 3
    assert slots[0].starts_at == utc(2, 8) and slots[1].starts_at.astimezone(LOCAL).hour >= 16


def test_choose_dealer_prefers_the_cars_workshop(make, session):
    own = make.dealer(opening_hours=WEEKDAYS, service_bays=1, latitude=53.55, longitude=9.99)
    make.dealer(opening_hours=WEEKDAYS, service_bays=4, latitude=53.56, longitude=10.0)
    car = make.vehicle(owner=make.customer(), dealer=own)
    choice = choose_dealer(session=session, vehicle=car, customer_position=None, job=get_job("diagnosis"))
    assert choice.dealer.id == own.id and choice.slots
    assert own.name in choice.reason


def test_choose_dealer_falls_back_to_the_nearest_with_capacity_and_says_why(make, session):
    own = make.dealer(name="Autohaus Voll", opening_hours={}, service_bays=2, latitude=53.55, longitude=9.99)
    far = make.dealer(name="Autohaus Fern", opening_hours=WEEKDAYS, service_bays=2, latitude=48.1, longitude=11.6)
    near = make.dealer(name="Autohaus Nah", opening_hours=WEEKDAYS, service_bays=2, latitude=53.6, longitude=10.05)
    car = make.vehicle(owner=make.customer(), dealer=own)
    choice = choose_dealer(session=session, vehicle=car, customer_position=None, job=get_job("inspection"))
    assert choice.dealer.id == near.id != far.id
    assert "Autohaus Voll has no free bay in the next 14 days" in choice.reason
    assert "Autohaus Nah" in choice.reason and "km" in choice.reason
    # measured from where the owner is, when the caller knows it
    choice = choose_dealer(session=session, vehicle=car, customer_position=(48.14, 11.58), job=get_job("tyres"))
    assert choice.dealer.id == far.id and "from you" in choice.reason
