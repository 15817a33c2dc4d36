"""Trips cut from ignition and movement, measured by odometer, GPS or speed, rebuilt incrementally."""

from __future__ import annotations

import itertools
import math
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.core import clock
from forecourt.telematics import devices, trips
from forecourt.telematics.ingest import ingest
from forecourt.telematics.models import Position, Trip
from forecourt.telematics.readings import Reading, Source, VehicleEvent

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
ORIGIN, NORTH = (52.50, 13.40), (52.60, 13.40)  # 0.1 degree of latitude apart on one meridian
NORTH_KM = 11.1195  # great-circle distance between them (R = 6371.0088 km)
_keys = itertools.count()


def at(seconds: float, start: datetime = T0) -> datetime:
    return start + timedelta(seconds=seconds)


def reading(vehicle, moment: datetime, events_=(), **signals) -> Reading:
    values = {k.replace("__", "."): v for k, v in signals.items()}
    return Reading(source=Source.EMBEDDED, device_id=vehicle.vin, measured_at=moment, signals=values,
                   events=tuple(events_), message_key=f"t{next(_keys)}-{uuid.uuid4().hex[:12]}")


def fix(lat: float, lon: float, speed: float, located: bool = True) -> dict:
    values = {"Vehicle__Speed": speed}
    if located:
        values |= {"Vehicle__CurrentLocation__Latitude": lat, "Vehicle__CurrentLocation__Longitude": lon}
    return values


def leg(vehicle, start: datetime, origin, destination, seconds: int, every: int = 10, ignition: bool = False,
        speed: float | None = None, located: bool = True, extra=None) -> list[Reading]:
    """A straight drive: standing at ``origin`` at ``start``, moving, standing at ``destination``.

    ``extra(t)`` adds signals or events to the reading ``t`` seconds into the leg.
    """
    from forecourt.core.geo import distance_km

    speed = speed or distance_km(*origin, *destination) / (seconds / 3600)
    readings = []
    for t in range(0, seconds + 1, every):
        share = t / seconds
        lat = origin[0] + (destination[0] - origin[0]) * share
        lon = origin[1] + (destination[1] - origin[1]) * share
        moving = 0 < t < seconds
        events_, more = [], {}
        if ignition and t == 0:
            events_.append(VehicleEvent.IGNITION_ON)
        if ignition and t == seconds:
            events_.append(VehicleEvent.IGNITION_OFF)
        if extra is not None:
            more_events, more = extra(t)
            events_ += more_events
        readings.append(reading(vehicle, at(t, start), events_,
                                **(fix(lat, lon, speed if moving else 0.0, located) | more)))
    return readings


def stand(vehicle, start: datetime, seconds: int, where, every: int = 60) -> list[Reading]:
    return [reading(vehicle, at(t, start), **fix(*where, 0.0)) for t in range(every, seconds + 1, every)]


def send(session, readings: list[Reading]) -> None:
    report = ingest(session=session, readings=readings, channel="test")
    assert report.stored == len(readings) and not report.rejected


@pytest.fixture
def car(make, session):
    carmaker = make.carmaker()
    owner = make.customer()
    vehicle = make.vehicle(owner=owner, since=T0 - timedelta(days=400))
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    make.grant(owner, carmaker, "location_services")
    return vehicle


def test_a_drive_between_two_known_points_is_one_trip_with_its_true_length(car, session):
    send(session, leg(car, T0, ORIGIN, NORTH, 600, ignition=True))
    with clock.frozen_at(at(3600)):
        changed = trips.refresh_trips(session=session, vehicle_id=car.id)
    trip = trips.latest_trip(session=session, vehicle_id=car.id)
    assert [t.id for t in changed] == [trip.id]
    assert (trip.started_at, trip.ended_at, trip.end_reason, trip.is_open) == (T0, at(600), "ignition_off", False)
    assert (trip.start_latitude, trip.start_longitude) == ORIGIN
    assert (trip.end_latitude, trip.end_longitude) == NORTH
    assert trip.distance_source == "gps" and trip.distance_km == pytest.approx(NORTH_KM, abs=0.001)
    assert trip.duration_s == 600
    assert trip.max_speed_kmh == pytest.approx(66.717, abs=0.01)
    assert trip.avg_speed_kmh == pytest.approx(66.7, abs=0.05)
    assert len(trip.route) == 61 and trip.route[0] == [52.5, 13.4] and trip.route[-1] == [52.6, 13.4]


def test_the_odometer_is_preferred_to_the_gps_track(car, session):
    def odometer(t):
        return [], {"Vehicle__TraveledDistance": 12_345_000 + 20 * t}  # 12 km in 600 s

    send(session, leg(car, T0, ORIGIN, NORTH, 600, ignition=True, extra=odometer))
    with clock.frozen_at(at(3600)):
        trips.refresh_trips(session=session, vehicle_id=car.id)
    trip = trips.latest_trip(session=session, vehicle_id=car.id)
    assert (trip.distance_source, trip.distance_km) == ("odometer", 12.0)
    assert trip.avg_speed_kmh == 72.0


def test_a_long_stop_splits_the_drive_but_a_traffic_light_does_not(car, make, session):
    middle = (52.55, 13.40)
    send(session, leg(car, T0, ORIGIN, middle, 300)  # arrives at 300 s
         + stand(car, at(300), 480, middle)  # stands until 780 s: eight minutes
         + leg(car, at(780), middle, NORTH, 300))  # drives on, arrives at 1,080 s
    with clock.frozen_at(at(3600)):
        trips.refresh_trips(session=session, vehicle_id=car.id)
    first, second = trips.list_trips(session=session, vehicle_id=car.id)[::-1]
    assert (first.started_at, first.ended_at, first.end_reason) == (T0, at(300), "stopped")
    assert (second.started_at, second.ended_at, second.end_reason) == (at(780), at(1080), "stopped")
    assert first.distance_km == pytest.approx(NORTH_KM / 2, abs=0.001)
    assert second.distance_km == pytest.approx(NORTH_KM / 2, abs=0.001)

    other = make.vehicle()
    devices.register(session=session, kind=Source.EMBEDDED, identifier=other.vin, vehicle_id=other.id)
    send(session, leg(other, T0, ORIGIN, middle, 300) + stand(other, at(300), 180, middle)
         + leg(other, at(480), middle, NORTH, 300))
    with clock.frozen_at(at(3600)):
        trips.refresh_trips(session=session, vehicle_id=other.id)
    [whole] = trips.list_trips(session=session, vehicle_id=other.id)
    assert (whole.started_at, whole.ended_at) == (T0, at(780))
    assert whole.distance_km == pytest.approx(NORTH_KM, abs=0.001)


def test_only_the_latest_trip_is_rebuilt_and_an_open_trip_grows_until_the_car_stops(car, session):
    earlier = T0 - timedelta(hours=3)
    send(session, leg(car, earlier, NORTH, ORIGIN, 600, ignition=True))
    with clock.frozen_at(earlier + timedelta(hours=1)):
        [closed] = trips.refresh_trips(session=session, vehicle_id=car.id)
    closed_stamp = closed.updated_at

    drive = leg(car, T0, ORIGIN, NORTH, 600)
    send(session, drive[:31])  # 0-300 s: on the way
    with clock.frozen_at(at(305)):
        [open_trip] = trips.refresh_trips(session=session, vehicle_id=car.id)
    assert (open_trip.is_open, open_trip.end_reason, open_trip.ended_at) == (True, "open", at(300))
    assert open_trip.distance_km == pytest.approx(NORTH_KM / 2, abs=0.001)
    trip_id = open_trip.id

    send(session, drive[31:])  # 310-600 s: arrives, ignition still on
    with clock.frozen_at(at(720)):
        [grown] = trips.refresh_trips(session=session, vehicle_id=car.id)
        assert trips.refresh_open_trips(session=session) == 0  # two minutes standing: still a traffic light
    assert (grown.id, grown.is_open, grown.ended_at) == (trip_id, True, at(600))
    assert grown.distance_km == pytest.approx(NORTH_KM, abs=0.001)

    with clock.frozen_at(at(1200)):  # the car never said ignition off, but has stood for ten minutes
        assert trips.refresh_open_trips(session=session) == 1
    session.refresh(grown)
    assert (grown.id, grown.is_open, grown.end_reason, grown.ended_at) == (trip_id, False, "stopped", at(600))
    session.refresh(closed)
    assert closed.updated_at == closed_stamp  # the older trip was never rebuilt
    assert session.scalar(select(func.count()).select_from(Trip).where(Trip.vehicle_id == car.id)) == 2


def test_refreshing_without_new_data_changes_nothing(car, session):
    send(session, leg(car, T0, ORIGIN, NORTH, 600, ignition=True))
    with clock.frozen_at(at(3600)):
        assert len(trips.refresh_trips(session=session, vehicle_id=car.id)) == 1
        assert trips.refresh_trips(session=session, vehicle_id=car.id) == []
        assert trips.refresh(session=session, vehicle_ids=[car.id, car.id]) == {car.id: []}


def test_without_location_consent_a_trip_has_no_route_and_its_length_comes_from_speed(make, session):
    vehicle = make.vehicle(owner=make.customer(), since=T0 - timedelta(days=30))
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    send(session, leg(vehicle, T0, ORIGIN, NORTH, 600, speed=60.0, located=False))
    with clock.frozen_at(at(3600)):
        trips.refresh_trips(session=session, vehicle_id=vehicle.id)
    assert session.scalar(select(func.count()).select_from(Position).where(Position.vehicle_id == vehicle.id)) == 0
    trip = trips.latest_trip(session=session, vehicle_id=vehicle.id)
    assert (trip.started_at, trip.ended_at) == (T0, at(600))
    assert (trip.distance_source, trip.route, trip.start_latitude) == ("speed", [], None)
    assert trip.distance_km == pytest.approx(59 / 6, abs=0.001)  # 59 intervals of 10 s at 60 km/h


def test_standing_with_the_engine_on_is_no_trip(car, session):
    send(session, [reading(car, T0, [VehicleEvent.IGNITION_ON], **fix(*ORIGIN, 0.0))]
         + stand(car, T0, 600, ORIGIN) + [reading(car, at(660), [VehicleEvent.IGNITION_OFF], **fix(*ORIGIN, 2.0))])
    with clock.frozen_at(at(3600)):
        assert trips.refresh_trips(session=session, vehicle_id=car.id) == []


def test_routes_are_simplified_to_at_most_500_points_keeping_both_ends():
    straight = [[52.5 + i * 1e-4, 13.4] for i in range(1000)]
    assert trips.simplify(straight) == [straight[0], straight[-1]]
    winding = [[52.5 + i * 1e-4, 13.4 + 0.01 * math.sin(i / 100)] for i in range(5000)]
    simplified = trips.simplify(winding)
    assert 20 < len(simplified) <= 500 and simplified[0] == winding[0] and simplified[-1] == winding[-1]
    assert trips.simplify(winding[:500]) == winding[:500]


def test_retention_forgets_routes_and_erasure_deletes_trips(car, session):
    send(session, leg(car, T0, ORIGIN, NORTH, 600, ignition=True))
    with clock.frozen_at(at(3600)):
        trips.refresh_trips(session=session, vehicle_id=car.id)
    with clock.frozen_at(T0 + timedelta(days=91)):
        assert trips.forget_routes(session=session, older_than_days=90) == 1
    trip = trips.latest_trip(session=session, vehicle_id=car.id)
    session.refresh(trip)
    assert (trip.route, trip.start_latitude, trip.end_longitude) == ([], None, None)
    assert trip.distance_km == pytest.approx(NORTH_KM, abs=0.001)  # the length is no position
    assert trips.delete_trips(session=session, vehicle_id=car.id, since=T0 - timedelta(days=1)) == 1
    assert trips.latest_trip(session=session, vehicle_id=car.id) is None
