"""A driver's telemetry is what their car reported while they owned it: exported with them, erased with them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from forecourt.privacy import rights
from forecourt.telematics import devices
from forecourt.telematics.ingest import ingest
from forecourt.telematics.models import Position, Sample, TwinSignal
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service
from tests.telematics.test_ingest import T0, reading


def test_export_and_erasure_follow_the_ownership_periods(make, session):
    carmaker = make.carmaker()
    first, second = make.customer(), make.customer()
    vehicle = make.vehicle(owner=first, since=T0 - timedelta(days=30))
    for owner in (first, second):
        make.grant(owner, carmaker, "location_services")
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    ingest(session=session, readings=[reading(vehicle.vin, T0, "first-drive")], channel="test")
    vehicles_service.transfer(session=session, vehicle_id=vehicle.id, customer_id=second.id,
                              at=T0 + timedelta(days=1))
    ingest(session=session, readings=[reading(vehicle.vin, T0 + timedelta(days=2), "second-drive",
                                              Vehicle__Speed=99.0)], channel="test")

    exported = rights.export(session=session, customer_id=first.id)["telemetry"]
    assert [p["measured_at"] for p in exported["positions"]] == [T0.isoformat()]
    assert {s["value"] for s in exported["samples"] if s["path"] == "Vehicle.Speed"} == {50.0}

    report = rights.erase(session=session, customer_id=first.id)
    assert report["removed"]["telemetry_positions"] == 1 and report["removed"]["telemetry_samples"] == 1
    remaining = session.scalars(select(Position.measured_at).where(Position.vehicle_id == vehicle.id)).all()
    assert remaining == [T0 + timedelta(days=2)]  # the new owner's drive is theirs and stays
    assert session.scalars(select(Sample.value).where(Sample.path == "Vehicle.Speed")).all() == [99.0]
    assert session.get(TwinSignal, (vehicle.id, "Vehicle.Speed")).value == 99.0


def test_retention_removes_old_positions_but_keeps_sos_positions(make, session):
    from forecourt.core import clock
    from forecourt.telematics import service as telematics_service
    from forecourt.telematics.models import VehicleEventRecord
    from forecourt.telematics.readings import VehicleEvent

    carmaker, owner = make.carmaker(), make.customer()
    vehicle = make.vehicle(owner=owner, since=T0 - timedelta(days=300))
    make.grant(owner, carmaker, "location_services")
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    ingest(session=session, readings=[reading(vehicle.vin, T0 - timedelta(days=100), "old", [VehicleEvent.SOS]),
                                      reading(vehicle.vin, T0 - timedelta(days=10), "recent")], channel="test")
    with clock.frozen_at(T0):
        removed = telematics_service.prune_positions(session=session, older_than_days=90)
    assert removed["positions"] == 1
    assert session.scalars(select(Position.measured_at)).all() == [T0 - timedelta(days=10)]
    sos = session.scalars(select(VehicleEventRecord)).one()
    assert (sos.kind, sos.latitude) == ("sos", 52.52)
