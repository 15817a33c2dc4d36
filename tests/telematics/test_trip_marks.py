"""A car that stands and reports is read from its mark (about the last hour), not from its latest trip's
start, and its trips come out exactly as a rebuild that reads everything cuts them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from forecourt.core import clock
from forecourt.telematics import trips
from forecourt.telematics.models import Trip, TripMark
from tests.telematics.test_trips import NORTH, ORIGIN, T0, car, leg, send, stand  # noqa: F401 (car: a fixture)


def _trips(session, vehicle) -> list[tuple]:
    return [(t.started_at, t.ended_at, t.end_reason, t.distance_km, t.route, t.is_open)
            for t in session.scalars(select(Trip).where(Trip.vehicle_id == vehicle.id).order_by(Trip.started_at))]


def _stand_hours(session, vehicle, start, hours: int) -> None:
    """A reading a minute, refreshed after each hour on the clock of the readings."""
    parked = stand(vehicle, start, hours * 3600, NORTH)
    for hour in range(hours):
        send(session, parked[hour * 60:(hour + 1) * 60])
        with clock.frozen_at(start + timedelta(hours=hour + 1, seconds=30)):
            trips.refresh_trips(session=session, vehicle_id=vehicle.id)


def test_a_standing_car_is_read_from_its_mark_and_cut_into_the_same_trips(car, session):  # noqa: F811
    send(session, leg(car, T0, ORIGIN, NORTH, 600, ignition=True))  # 09:00-09:10, ignition off
    with clock.frozen_at(T0 + timedelta(minutes=11)):
        trips.refresh_trips(session=session, vehicle_id=car.id)
    _stand_hours(session, car, T0 + timedelta(minutes=10), 6)  # then six hours standing, reporting
    with clock.frozen_at(T0 + timedelta(hours=6, minutes=11)):
        plan = trips.plan_rebuild(session=session, vehicle_ids=[car.id])
    assert plan.since[car.id] >= T0 + timedelta(hours=4, minutes=30)  # not from 09:00: the last hour or so
    assert plan.trips[car.id] == [] and plan.latest[car.id] == T0

    send(session, leg(car, T0 + timedelta(hours=6, minutes=15), NORTH, ORIGIN, 600, ignition=True))  # drives again
    with clock.frozen_at(T0 + timedelta(hours=7)):
        trips.refresh_trips(session=session, vehicle_id=car.id)
    marked = _trips(session, car)
    assert session.get(TripMark, car.id).latest_start == marked[-1][0]  # the mark now belongs to the new trip

    session.execute(delete(TripMark))
    session.execute(delete(Trip).where(Trip.vehicle_id == car.id))
    with clock.frozen_at(T0 + timedelta(hours=7)):
        trips.refresh_trips(session=session, vehicle_id=car.id)  # from scratch: every reading read
    assert _trips(session, car) == marked and len(marked) == 2
    assert marked[1][0] == T0 + timedelta(hours=6, minutes=15)  # begins at ignition on, as it did


def test_a_car_that_never_drove_is_not_read_from_its_first_reading_on_every_refresh(make, session):
    from forecourt.telematics import devices
    from forecourt.telematics.readings import Source

    stock = make.vehicle()
    devices.register(session=session, kind=Source.EMBEDDED, identifier=stock.vin, vehicle_id=stock.id)
    _stand_hours(session, stock, T0, 4)
    with clock.frozen_at(T0 + timedelta(hours=4, minutes=1)):
        plan = trips.plan_rebuild(session=session, vehicle_ids=[stock.id])
    assert plan.latest[stock.id] is None and plan.trips[stock.id] == []
    assert plan.since[stock.id] >= T0 + timedelta(hours=2)


def test_within_the_margin_a_late_reading_still_changes_the_latest_trip(car, session):  # noqa: F811
    drive = leg(car, T0, ORIGIN, NORTH, 600, ignition=True)
    send(session, drive[:30] + drive[31:])  # one reading of the drive is late
    with clock.frozen_at(T0 + timedelta(minutes=11)):
        trips.refresh_trips(session=session, vehicle_id=car.id)
    _stand_hours(session, car, T0 + timedelta(minutes=10), 1)
    before = _trips(session, car)
    send(session, [drive[30]])
    with clock.frozen_at(T0 + timedelta(hours=1, minutes=20)):  # its mark moved on 10 min ago: all read again
        trips.refresh_trips(session=session, vehicle_id=car.id)
    after = _trips(session, car)
    assert len(after) == 1 and after[0][4] != before[0][4]  # the late fix is on the route now
