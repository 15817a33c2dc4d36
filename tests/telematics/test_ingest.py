"""The pipeline: exactly-once storage, unknown devices refused and counted, location only with consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.core import clock, events
from forecourt.telematics import devices
from forecourt.telematics.ingest import VehicleSignalled, ingest
from forecourt.telematics.models import Position, Rejection, Sample, TwinSignal, VehicleEventRecord
from forecourt.telematics.readings import Reading, Source, VehicleEvent

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def reading(vin: str, at: datetime, key: str, events_=(), **signals) -> Reading:
    values = {"Vehicle.Speed": 50.0, "Vehicle.CurrentLocation.Latitude": 52.52,
              "Vehicle.CurrentLocation.Longitude": 13.40} | {k.replace("__", "."): v for k, v in signals.items()}
    return Reading(source=Source.EMBEDDED, device_id=vin, measured_at=at, signals=values,
                   events=tuple(events_), message_key=key)


@pytest.fixture
def car(make, session):
    carmaker = make.carmaker()
    owner = make.customer()
    vehicle = make.vehicle(owner=owner)
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    return vehicle, owner, carmaker


def count(session, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return session.scalar(query)


def test_a_resent_message_is_stored_once(car, session):
    vehicle, _, _ = car
    first = ingest(session=session, readings=[reading(vehicle.vin, T0, "k1"), reading(vehicle.vin, T0, "k1")],
                   channel="test")
    again = ingest(session=session, readings=[reading(vehicle.vin, T0, "k1")], channel="test")
    assert (first.stored, first.duplicates, again.stored, again.duplicates) == (1, 1, 0, 1)
    assert count(session, Sample, vehicle_id=vehicle.id, path="Vehicle.Speed") == 1


def test_unknown_devices_are_refused_and_counted(car, session):
    report = ingest(session=session, readings=[reading("WFC1A2B30RA999999", T0, "x")], channel="mqtt")
    assert report.stored == 0 and report.rejected[0][1].startswith("unknown embedded device")
    assert count(session, Rejection, channel="mqtt") == 1


def test_positions_need_location_consent_but_sos_keeps_its_position(car, make, session):
    vehicle, owner, carmaker = car
    ingest(session=session, readings=[reading(vehicle.vin, T0, "a"),
                                      reading(vehicle.vin, T0 + timedelta(seconds=5), "b", [VehicleEvent.SOS])],
           channel="test")
    assert count(session, Position, vehicle_id=vehicle.id) == 0
    sos = session.scalars(select(VehicleEventRecord).where(VehicleEventRecord.vehicle_id == vehicle.id)).one()
    assert (sos.kind, sos.latitude, sos.longitude) == ("sos", 52.52, 13.40)
    twin_paths = set(session.scalars(select(TwinSignal.path).where(TwinSignal.vehicle_id == vehicle.id)))
    assert twin_paths == {"Vehicle.Speed"}  # not even the twin remembers where the car is

    make.grant(owner, carmaker, "location_services")
    ingest(session=session, readings=[reading(vehicle.vin, T0 + timedelta(seconds=10), "c")], channel="test")
    assert count(session, Position, vehicle_id=vehicle.id) == 1
    make.withdraw(owner, carmaker, "location_services")
    ingest(session=session, readings=[reading(vehicle.vin, T0 + timedelta(seconds=15), "d")], channel="test")
    assert count(session, Position, vehicle_id=vehicle.id) == 1


def test_the_twin_keeps_the_newest_value_even_when_messages_arrive_late(car, session):
    vehicle, _, _ = car
    ingest(session=session, readings=[reading(vehicle.vin, T0 + timedelta(minutes=2), "new", Vehicle__Speed=80.0)],
           channel="test")
    ingest(session=session, readings=[reading(vehicle.vin, T0, "old", Vehicle__Speed=10.0)], channel="test")
    twin = session.get(TwinSignal, (vehicle.id, "Vehicle.Speed"))
    assert twin.value == 80.0 and twin.measured_at == T0 + timedelta(minutes=2)
    assert count(session, Sample, vehicle_id=vehicle.id, path="Vehicle.Speed") == 2


def test_vehicle_events_are_announced_only_after_commit(car, session):
    vehicle, _, _ = car
    seen: list = []
    events.bus.subscribe(VehicleSignalled, seen.append)
    try:
        ingest(session=session, readings=[reading(vehicle.vin, T0, "crash", [VehicleEvent.CRASH])], channel="test")
        assert seen == []
        session.commit()
    finally:
        events.bus.handlers[VehicleSignalled].remove(seen.append)
    assert [(e.vehicle_id, e.kind, e.latitude) for e in seen] == [(vehicle.id, "crash", 52.52)]


def test_an_embedded_unit_registers_only_under_its_own_vin(make, session):
    from forecourt.core.errors import Invalid

    vehicle, other = make.vehicle(), make.vehicle()
    with pytest.raises(Invalid):
        devices.register(session=session, kind=Source.EMBEDDED, identifier=other.vin, vehicle_id=vehicle.id)


AIRBAG = "Vehicle__Cabin__Seat__Row1__DriverSide__Airbag__IsDeployed"
PASSENGER_AIRBAG = "Vehicle__Cabin__Seat__Row1__PassengerSide__Airbag__IsDeployed"


def crashes(session, vehicle) -> list[tuple]:
    return session.execute(select(VehicleEventRecord.message_key, VehicleEventRecord.latitude)
                           .where(VehicleEventRecord.vehicle_id == vehicle.id, VehicleEventRecord.kind == "crash")
                           .order_by(VehicleEventRecord.measured_at)).all()


def test_an_airbag_that_deploys_is_a_crash_once_however_long_the_car_keeps_reporting_it(car, session):
    vehicle, _, _ = car
    at = [T0 + timedelta(seconds=5 * i) for i in range(6)]
    ingest(session=session, readings=[reading(vehicle.vin, at[0], "a", **{AIRBAG: False}),
                                      reading(vehicle.vin, at[1], "b", **{AIRBAG: False, PASSENGER_AIRBAG: True})],
           channel="test")
    # later batches still say "deployed": the crash is not raised again
    ingest(session=session, readings=[reading(vehicle.vin, at[2], "c", **{AIRBAG: True, PASSENGER_AIRBAG: True})],
           channel="test")
    ingest(session=session, readings=[reading(vehicle.vin, at[3], "d", **{AIRBAG: True})], channel="test")
    # the position is kept without location consent, as for any crash
    assert crashes(session, vehicle) == [("b", 52.52)]
    # a workshop resets the airbags; a new deployment is a new crash
    ingest(session=session, readings=[reading(vehicle.vin, at[4], "e", **{AIRBAG: False, PASSENGER_AIRBAG: False}),
                                      reading(vehicle.vin, at[5], "f", **{AIRBAG: True})], channel="test")
    assert [key for key, _ in crashes(session, vehicle)] == ["b", "f"]


def test_a_car_that_reports_its_crash_and_its_airbag_together_gets_one_crash(car, session):
    vehicle, _, _ = car
    ingest(session=session, readings=[reading(vehicle.vin, T0, "a", [VehicleEvent.CRASH], **{AIRBAG: True}),
                                      reading(vehicle.vin, T0 + timedelta(seconds=5), "b", **{AIRBAG: True})],
           channel="test")
    assert [key for key, _ in crashes(session, vehicle)] == ["a"]


def test_an_airbag_crash_is_announced_to_the_call_centre_after_commit(car, session):
    vehicle, _, _ = car
    seen: list = []
    events.bus.subscribe(VehicleSignalled, seen.append)
    try:
        ingest(session=session, readings=[reading(vehicle.vin, T0, "boom", **{AIRBAG: True})], channel="test")
        assert seen == []
        session.commit()
    finally:
        events.bus.handlers[VehicleSignalled].remove(seen.append)
    assert [(e.vehicle_id, e.kind, e.latitude) for e in seen] == [(vehicle.id, "crash", 52.52)]


def test_a_reading_stored_by_another_writer_after_the_plan_is_not_stored_twice(car, session):
    """The MQTT store plans a batch before it takes the write lock; a second store process may
    store one of its messages in between (a redelivery split over two batches)."""
    from forecourt.telematics.ingest import plan_batch, store_plan

    vehicle, _, _ = car
    batch = [reading(vehicle.vin, T0 + timedelta(seconds=i), f"race-{i}", Vehicle__TraveledDistance=100 + i)
             for i in range(3)]
    plan = plan_batch(session=session, readings=batch)
    meanwhile = ingest(session=session, readings=[batch[1]], channel="mqtt")  # the other store
    report = store_plan(session=session, plan=plan, channel="mqtt")
    assert meanwhile.stored == 1 and (report.stored, report.duplicates) == (2, 1)
    assert count(session, Sample, vehicle_id=vehicle.id, path="Vehicle.TraveledDistance") == 3
    assert count(session, Sample, vehicle_id=vehicle.id, path="Vehicle.Speed") == 3


def test_a_devices_last_contact_is_kept_to_the_minute(session, car):
    """Rewriting every reporting device's row in every batch cost commit pages for nothing."""
    vehicle, _, _ = car
    device = devices.by_identity(session=session, kind=Source.EMBEDDED, identifiers={vehicle.vin})[vehicle.vin]
    with clock.frozen_at(T0 + timedelta(hours=1)):
        ingest(session=session, readings=[reading(vehicle.vin, T0, "k-seen-1")], channel="mqtt")
        session.refresh(device)
        assert device.last_seen_at == T0 + timedelta(hours=1)
        clock.advance(timedelta(seconds=50))
        ingest(session=session, readings=[reading(vehicle.vin, T0 + timedelta(seconds=5), "k-seen-2")], channel="mqtt")
        session.refresh(device)
        assert device.last_seen_at == T0 + timedelta(hours=1)  # within the minute: not rewritten
        clock.advance(timedelta(seconds=20))
        ingest(session=session, readings=[reading(vehicle.vin, T0 + timedelta(seconds=10), "k-seen-3")], channel="mqtt")
        session.refresh(device)
        assert device.last_seen_at == T0 + timedelta(hours=1, seconds=70)
