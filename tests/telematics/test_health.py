"""Health from the twin: fault codes in plain words, battery, tyres, service due; each change announced once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from forecourt.core import clock, events
from forecourt.telematics import devices, dtc, health
from forecourt.telematics.health import BatteryLow, DtcAppeared, DtcCleared, ServiceDue, TyrePressureLow
from forecourt.telematics.readings import Source

from tests.telematics.test_trips import T0, at, reading, send

VOLTS, STATE = "Vehicle.LowVoltageBattery.CurrentVoltage", "Vehicle.LowVoltageSystemState"
ANNOUNCED = (DtcAppeared, DtcCleared, BatteryLow, TyrePressureLow, ServiceDue)
FRONT_LEFT = "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire."
REAR_RIGHT = "Vehicle.Chassis.Axle.Row2.Wheel.Right.Tire."


@pytest.fixture
def announced():
    seen: list = []
    for kind in ANNOUNCED:
        events.bus.subscribe(kind, seen.append)
    yield seen
    for kind in ANNOUNCED:
        events.bus.handlers[kind].remove(seen.append)


@pytest.fixture
def car(make, session):
    vehicle = make.vehicle(owner=make.customer(), since=T0 - timedelta(days=400), production_date=date(2025, 9, 1))
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    return vehicle


def report(session, vehicle, seconds: int, **signals) -> list:
    """Ingest one reading, judge the car and commit, as a listener does after each batch."""
    send(session, [reading(vehicle, at(seconds), **{k.replace(".", "__"): v for k, v in signals.items()})])
    with clock.frozen_at(at(seconds)):
        health.refresh_health(session=session, vehicle_ids=[vehicle.id])
    session.commit()


def take(seen: list) -> list:
    taken = list(seen)
    seen.clear()
    return taken


def test_a_fault_code_is_announced_once_when_it_appears_and_once_when_it_clears(car, session, announced):
    report(session, car, 0, **{"Vehicle.Diagnostics.DTCList": ["P0420"]})
    assert take(announced) == [DtcAppeared(car.id, "P0420", "Catalytic converter efficiency below threshold "
                                                             "(bank 1)", "service_soon", True)]
    state = health.health_of(session=session, vehicle_id=car.id)
    assert state.status == "service_soon"
    assert state.summary.startswith("Book a workshop visit soon: Catalytic converter efficiency below threshold "
                                    "(bank 1) (P0420).")

    report(session, car, 10, **{"Vehicle.Diagnostics.DTCList": ["P0420"]})  # the car repeats itself
    report(session, car, 20, **{"Vehicle.OBD.DTCList": "p0420"})  # and the OBD dongle agrees
    assert take(announced) == []

    report(session, car, 30, **{"Vehicle.Diagnostics.DTCList": ["P0420", "P0524"]})
    assert take(announced) == [DtcAppeared(car.id, "P0524", "Engine oil pressure too low", "stop_safely", True)]
    assert health.health_of(session=session, vehicle_id=car.id).summary.startswith(
        "Stop when it is safe and do not drive on: Engine oil pressure too low (P0524).")

    report(session, car, 40, **{"Vehicle.Diagnostics.DTCList": [], "Vehicle.OBD.DTCList": []})
    assert take(announced) == [DtcCleared(car.id, "P0420", "Catalytic converter efficiency below threshold (bank 1)"),
                               DtcCleared(car.id, "P0524", "Engine oil pressure too low")]
    report(session, car, 50, **{"Vehicle.Diagnostics.DTCList": []})
    assert take(announced) == []


def test_nothing_is_announced_when_the_batch_is_rolled_back(car, session, announced):
    session.commit()  # the car and its device exist; the batch below does not survive
    send(session, [reading(car, T0, **{"Vehicle__Diagnostics__DTCList": ["P0300"]})])
    health.refresh_health(session=session, vehicle_ids=[car.id])
    session.rollback()
    assert take(announced) == []
    report(session, car, 10, **{"Vehicle.Diagnostics.DTCList": ["P0300"]})
    assert [(e.code, e.description) for e in take(announced)] == [
        ("P0300", "Random/multiple cylinder misfire detected")]


def test_unknown_codes_are_described_by_their_system():
    assert dtc.describe("C0035").description.startswith("Front-left wheel speed sensor fault")
    assert dtc.describe("B0001").severity is dtc.Severity.SERVICE_SOON
    unknown = dtc.describe("U3F00")
    assert (unknown.known, unknown.system, unknown.needs_workshop) == (False, "network", True)
    assert unknown.description == "Network fault (control units not communicating)"
    assert dtc.describe("P1234").description.endswith("specific to the manufacturer")
    assert dtc.parse_list("P0420, p0300-1F junk") == ["P0300", "P0420"]
    assert len(dtc.CODES) >= 60


def test_the_battery_alarm_rises_once_and_ignores_cranking(car, session, announced):
    report(session, car, 0, **{VOLTS: 12.6, STATE: "OFF"})
    report(session, car, 10, **{VOLTS: 11.6})
    report(session, car, 20, **{VOLTS: 11.5})
    assert take(announced) == [BatteryLow(car.id, 11.6, "low")]
    assert health.health_of(session=session, vehicle_id=car.id).battery.text == (
        "12 V battery low (11.5 V): drive for 30 minutes or charge it.")

    report(session, car, 30, **{VOLTS: 9.8, STATE: "START"})
    assert take(announced) == []  # starting the engine pulls any battery down
    report(session, car, 40, **{VOLTS: 10.9, STATE: "OFF"})
    assert take(announced) == [BatteryLow(car.id, 10.9, "critical")]
    report(session, car, 50, **{VOLTS: 12.7})
    report(session, car, 60, **{VOLTS: 14.1, STATE: "ON"})
    assert take(announced) == []
    report(session, car, 70, **{VOLTS: 12.2})  # engine running, not charging
    [alarm] = take(announced)
    assert (alarm.level, alarm.voltage) == ("low", 12.2)
    assert "not charging while the engine runs" in health.health_of(session=session, vehicle_id=car.id).battery.text


def test_a_low_tyre_is_announced_per_wheel(car, session, announced):
    report(session, car, 0, **{FRONT_LEFT + "Pressure": 240, REAR_RIGHT + "Pressure": 235})
    assert take(announced) == []
    report(session, car, 10, **{FRONT_LEFT + "Pressure": 180})
    report(session, car, 20, **{FRONT_LEFT + "Pressure": 178})
    assert take(announced) == [TyrePressureLow(car.id, ("front left",), 180.0)]
    report(session, car, 30, **{REAR_RIGHT + "IsPressureLow": True})
    assert take(announced) == [TyrePressureLow(car.id, ("rear right",), 235.0)]
    tyres = health.health_of(session=session, vehicle_id=car.id).tyres
    assert tyres.text == "Low tyre pressure: front left (178 kPa), rear right (235 kPa). Check and inflate the tyres."


def test_service_falls_due_by_the_mileage_rule_from_the_last_service_record(car, make, session, announced):
    make.service_record(car, on=date(2025, 6, 1), odometer_km=15_000)
    report(session, car, 0, **{"Vehicle.TraveledDistance": 40_000_000})  # 25,000 km since: fine
    assert take(announced) == []
    report(session, car, 10, **{"Vehicle.TraveledDistance": 44_000_000})
    # 29,000 km since the service at 15,000 km; 537 days since 1 June 2025
    text = ("Service due (1,000 km or 193 days left, every 30,000 km or 2 years; "
            "last service 01 Jun 2025 at 15,000 km).")
    assert take(announced) == [ServiceDue(car.id, "due", text)]
    report(session, car, 20, **{"Vehicle.TraveledDistance": 44_100_000})
    assert take(announced) == []
    report(session, car, 30, **{"Vehicle.TraveledDistance": 45_600_000})
    [overdue] = take(announced)
    assert (overdue.level, overdue.reason) == ("overdue", "Service overdue by 600 km (every 30,000 km or 2 years; "
                                                          "last service 01 Jun 2025 at 15,000 km).")

    make.service_record(car, on=date(2026, 11, 20), odometer_km=45_600)
    report(session, car, 40, **{"Vehicle.TraveledDistance": 45_700_000})
    assert take(announced) == []
    assert health.health_of(session=session, vehicle_id=car.id).service.level == "ok"


def test_without_any_service_record_time_counts_from_production(make, session):
    vehicle = make.vehicle(production_date=date(2024, 1, 10))
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    send(session, [reading(vehicle, T0, Vehicle__TraveledDistance=20_000_000)])
    with clock.frozen_at(T0):
        service = health.health_of(session=session, vehicle_id=vehicle.id).service
    assert (service.level, service.basis, service.km_left, service.days_left) == ("overdue", "rule", 10_000, 730 - 1045)


def test_a_car_that_reports_its_own_service_need_is_believed(car, session, announced):
    report(session, car, 0, **{"Vehicle.Service.IsServiceDue": False, "Vehicle.Service.DistanceToService": 8000.0,
                               "Vehicle.Service.TimeToService": 90 * 86400})
    assert take(announced) == []
    assert health.health_of(session=session, vehicle_id=car.id).service.text == (
        "Next service in 8,000 km or 90 days (as the car reports).")
    report(session, car, 10, **{"Vehicle.Service.IsServiceDue": True})
    assert [(e.level, e.reason) for e in take(announced)] == [
        ("due", "Service due (8,000 km or 90 days left, as the car reports).")]


def test_fleet_health_counts_cars_per_status_and_lists_those_needing_attention(car, make, session):
    fine, silent = make.vehicle(), make.vehicle()
    for vehicle in (fine, silent):
        devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    send(session, [reading(car, T0, Vehicle__Diagnostics__DTCList=["P0217"]),
                   reading(fine, T0, Vehicle__Diagnostics__DTCList=["P0457"], Vehicle__TraveledDistance=1_000_000)])
    with clock.frozen_at(at(60)):
        health.refresh_health(session=session, vehicle_ids=[car.id, fine.id])
    fleet = health.fleet_health(session=session)
    assert fleet.counts == {"ok": 0, "info": 1, "service_soon": 0, "stop_safely": 1, "unknown": 1}
    [urgent] = fleet.needing_attention
    assert (urgent.vehicle_id, urgent.vin, urgent.status) == (car.id, car.vin, "stop_safely")
    assert urgent.summary == "Stop when it is safe and do not drive on: Engine overheating (P0217)."
