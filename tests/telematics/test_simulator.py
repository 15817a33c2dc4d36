"""The fleet simulator: believable trips, and every transport delivering what it says it sent."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from random import Random

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from forecourt.core.config import get_settings
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.telematics.decoders import teltonika
from forecourt.telematics.listeners.mqtt import BrokerAddress, MqttIngestWorker
from forecourt.telematics.listeners.teltonika import TeltonikaListener
from forecourt.telematics.models import Position, ReceivedMessage, TwinSignal, VehicleEventRecord
from forecourt.telematics.readings import VehicleEvent
from forecourt.telematics.simulator import codec8, formats
from forecourt.telematics.simulator.drive import Faults, SimulatedCar
from forecourt.telematics.simulator.fleet import SimVehicle, imei_for, luhn_digit
from forecourt.telematics.simulator.route import german_towns
from forecourt.telematics.simulator.runner import Simulation, SimulationConfig
from forecourt.telematics.simulator.transports import HttpSender
from tests.conftest import test_database_kind as database_kind
from tests.factories import Factory

BROKER = "mqtt://127.0.0.1:1883"
T0 = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)


def _town(name: str):
    return next(t for t in german_towns() if t.name == name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the model ------------------------------------------------------------------------------------

def test_a_trip_is_believable_from_ignition_on_to_ignition_off():
    car = SimulatedCar.create(Random(11), T0, start=_town("Hamburg"), end=_town("Bremen"), keep_driving=False,
                              faults=Faults(dtc="P0420", dtc_after_s=120, weak_alternator=True,
                                            puncture_wheel="Row2.Wheel.Left", harsh_braking_per_hour=6))
    snapshots = [car.snapshot()]
    while not car.finished:
        snapshots.append(car.advance(5))
    great_circle = car.route.great_circle_m
    travelled = snapshots[-1].odometer_m - snapshots[0].odometer_m
    assert 1.0 <= travelled / great_circle <= 1.05
    assert all(0 <= s.speed_kmh <= 180 for s in snapshots)
    assert all(b.odometer_m >= a.odometer_m for a, b in zip(snapshots, snapshots[1:]))
    assert all(b.at > a.at for a, b in zip(snapshots, snapshots[1:]))
    assert VehicleEvent.IGNITION_ON in snapshots[0].events and snapshots[0].ignition
    off = max(i for i, s in enumerate(snapshots) if VehicleEvent.IGNITION_OFF in s.events)
    assert snapshots[off].odometer_m == snapshots[-1].odometer_m  # switched off on arrival, then parked
    assert not any(s.ignition or s.speed_kmh for s in snapshots[off:])
    cruising = [s.speed_kmh for s in snapshots if s.speed_kmh > 0]
    assert max(cruising) > 90 and sum(cruising) / len(cruising) > 50  # the open road, not just town
    assert sum(1 for s in snapshots[1:-1] if s.speed_kmh == 0) > 0  # red lights
    assert any(s.acceleration < -4 and VehicleEvent.HARSH_BRAKING in s.events for s in snapshots)
    end = snapshots[-1]
    assert abs(end.latitude - _town("Bremen").latitude) < 0.001 and abs(end.longitude - _town("Bremen").longitude) < 0.001
    assert end.dtcs == ("P0420",) and end.voltage < 11.8 and end.tyres_kpa["Row2.Wheel.Left"] < 200
    duration_h = (end.at - snapshots[0].at).total_seconds() / 3600
    assert 40 < travelled / 1000 / duration_h < 130  # average including town and red lights


def test_synthetic_imeis_have_fifteen_digits_and_a_valid_luhn_digit():
    for vehicle_id in (1, 42, 987654):
        imei = imei_for(vehicle_id)
        assert len(imei) == 15 and imei.isdigit() and luhn_digit(imei[:-1]) == imei[-1]
    assert luhn_digit("49015420323751") == "8"  # the textbook example IMEI 490154203237518


def test_codec8_frames_decode_back_to_what_was_encoded():
    car = SimulatedCar.create(Random(3), T0, start=_town("Köln"), end=_town("Düsseldorf"), keep_driving=False,
                              faults=Faults(harsh_braking_per_hour=0))
    first = car.snapshot()
    car.crash_after_s = 30
    moving = [car.advance(5) for _ in range(8)]
    snapshots = [first, *moving]
    frame = codec8.encode_frame([formats.avl_record(s) for s in snapshots])
    packet = teltonika.decode_frame(frame)
    readings = teltonika.to_readings("359999000000017", packet)
    assert len(readings) == len(snapshots)
    for snapshot, reading in zip(snapshots, readings):
        signals = reading.signals
        assert reading.measured_at == snapshot.at
        assert signals["Vehicle.CurrentLocation.Latitude"] == pytest.approx(snapshot.latitude, abs=1e-7)
        assert signals["Vehicle.CurrentLocation.Longitude"] == pytest.approx(snapshot.longitude, abs=1e-7)
        assert signals["Vehicle.Speed"] == round(snapshot.speed_kmh)
        assert signals["Vehicle.TraveledDistance"] == snapshot.odometer_m
        assert signals["Vehicle.LowVoltageBattery.CurrentVoltage"] == pytest.approx(snapshot.voltage)
        assert signals["Vehicle.LowVoltageSystemState"] == ("ON" if snapshot.ignition else "OFF")
    assert readings[0].events == (VehicleEvent.IGNITION_ON,)
    assert [r for r in readings if VehicleEvent.CRASH in r.events], "the crash travels as IO 247"
    single = codec8.encode_frame([formats.avl_record(first)])
    assert int.from_bytes(single[-4:], "big") == teltonika.crc16_ibm(single[8:-4])


# --- end to end -----------------------------------------------------------------------------------

def _fleet_database(fresh_database_url, label: str, cars: int = 3) -> str:
    url = fresh_database_url(label)
    with transaction(make_sessionmaker(get_engine(url))) as session:
        make = Factory(session=session, client=None)
        for _ in range(cars):
            make.vehicle()
    return url


class _LiveServer:
    def __init__(self, url: str):
        self.port = _free_port()
        self.server = uvicorn.Server(uvicorn.Config(
            _app(url), host="127.0.0.1", port=self.port, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the live server did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{self.port}"
        httpx.get(f"{base}/api/health", timeout=30)  # the first request opens the database: not the cars' time
        return base

    def __exit__(self, *_):
        self.server.should_exit = True
        self.thread.join(10)


def _app(url: str):
    from forecourt.web.app import create_app

    return create_app(get_settings(database_url=url))


def _simulate(url: str, via: str, **options) -> Simulation:
    # On SQLite the web app's concurrent telemetry requests can fail with "database is locked" (a
    # read transaction cannot be upgraded to a write once another writer committed), so HTTP
    # senders there take turns; PostgreSQL gets them in parallel.
    parallel = 3 if via in ("mqtt", "teltonika") or database_kind() == "postgresql" else 1
    config = SimulationConfig(vehicles=3, rate=30, via=via, duration=4.0, crash=True, seed=5, workers=parallel,
                              start=T0, **options)
    simulation = Simulation(config, make_sessionmaker(get_engine(url)))
    simulation.prepare()
    stats = simulation.run(threading.Event())
    assert stats.errors == 0, stats.last_error
    # every car reported several times; how many fit in 4 s depends on the machine's load
    assert stats.sent == stats.delivered >= 3 * 4
    assert stats.rate <= 33  # paced by the token bucket (a slow server may hold it lower)
    return simulation


def _check_store(url: str, simulation: Simulation, *, embedded: bool, ignition: bool = True) -> None:
    stats = simulation.stats
    crashed = next(v for v in simulation.fleet if v.vin == stats.crashed_vin)
    with make_sessionmaker(get_engine(url))() as session:
        assert session.scalar(select(func.count()).select_from(ReceivedMessage)) == stats.delivered
        assert session.scalar(select(func.count()).select_from(Position)) == stats.delivered
        crashes = session.execute(select(VehicleEventRecord.vehicle_id, VehicleEventRecord.latitude)
                                  .where(VehicleEventRecord.kind == "crash")).all()
        assert [vehicle_id for vehicle_id, _ in crashes] == [crashed.vehicle_id]
        assert crashes[0][1] is not None
        if ignition:
            starts = set(session.scalars(select(VehicleEventRecord.vehicle_id)
                                         .where(VehicleEventRecord.kind == "ignition_on")))
            assert starts == {v.vehicle_id for v in simulation.fleet}
        for vehicle in simulation.fleet:
            car = simulation.cars[vehicle.device_id]
            last = session.scalars(select(Position).where(Position.vehicle_id == vehicle.vehicle_id)
                                   .order_by(Position.measured_at.desc())).first()
            lat, lon, _ = car.route.at(car.travelled_m)
            assert last.measured_at == car.clock
            assert last.latitude == pytest.approx(lat, abs=1e-5) and last.longitude == pytest.approx(lon, abs=1e-5)
            if embedded or ignition:
                odometer = session.scalar(select(TwinSignal.value).where(
                    TwinSignal.vehicle_id == vehicle.vehicle_id, TwinSignal.path == "Vehicle.TraveledDistance"))
                assert odometer == int(car.odometer_m)
        if embedded:
            airbag = session.scalar(select(TwinSignal.value).where(
                TwinSignal.vehicle_id == crashed.vehicle_id,
                TwinSignal.path == "Vehicle.Cabin.Seat.Row1.DriverSide.Airbag.IsDeployed"))
            assert airbag is True


def test_a_simulated_cars_odometer_agrees_with_its_service_book(fresh_database_url):
    """A car serviced a year ago at 41,000 km sets off near 41,000 + a year's driving, not at a random
    reading that makes its health say it is tens of thousands of kilometres overdue."""
    url = fresh_database_url("sim_odometer")
    with transaction(make_sessionmaker(get_engine(url))) as session:
        make = Factory(session=session, client=None)
        car = make.vehicle()
        make.service_record(car, on=datetime.now(UTC).date().replace(day=1) - timedelta(days=365), odometer_km=41_000)
    simulation = Simulation(SimulationConfig(vehicles=1, rate=1, via="http", duration=1, seed=3),
                            make_sessionmaker(get_engine(url)))
    simulation.prepare()
    (vehicle,) = simulation.fleet
    odometer_km = simulation.cars[vehicle.device_id].odometer_m / 1000
    assert 41_000 + 300 * 30 < odometer_km < 41_000 + 400 * 45


def test_the_cars_named_first_are_driven_before_any_other(fresh_database_url):
    """``forecourt serve --simulate`` names the demo drivers' own cars, so each driver sees their car move."""
    url = fresh_database_url("sim_first")
    with transaction(make_sessionmaker(get_engine(url))) as session:
        make = Factory(session=session, client=None)
        cars = [make.vehicle(owner=make.customer()) for _ in range(6)]
    wanted = (cars[4].id, cars[1].id)
    simulation = Simulation(SimulationConfig(vehicles=3, rate=1, via="http", duration=1, seed=3, first=wanted),
                            make_sessionmaker(get_engine(url)))
    simulation.prepare()
    assert [v.vehicle_id for v in simulation.fleet][:2] == list(wanted) and len(simulation.fleet) == 3


def test_http_embedded_cars_report_and_a_refused_message_is_counted(fresh_database_url):
    url = _fleet_database(fresh_database_url, "sim_http")
    with _LiveServer(url) as server:
        simulation = _simulate(url, "http", server=server)
        sender = HttpSender(server)
        impostor = SimVehicle(vehicle_id=0, vin=simulation.fleet[0].vin, device_id="x", secret="wrong")
        assert not sender.send(impostor, simulation.cars[simulation.fleet[0].device_id].snapshot(), 1)
        assert "401" in sender.last_error
    _check_store(url, simulation, embedded=True)


def test_osmand_phones_report_positions_and_the_crash_as_an_accident_alarm(fresh_database_url):
    url = _fleet_database(fresh_database_url, "sim_osmand")
    with _LiveServer(url) as server:
        simulation = _simulate(url, "osmand", server=server)
    _check_store(url, simulation, embedded=False, ignition=False)


def test_mqtt_embedded_cars_publish_qos1_to_the_ingest_worker(fresh_database_url):
    url = _fleet_database(fresh_database_url, "sim_mqtt")
    worker = MqttIngestWorker(broker=BrokerAddress.parse(BROKER), sessions=make_sessionmaker(get_engine(url)),
                              client_id=f"test-sim-ingest-{uuid.uuid4().hex[:8]}")
    stop = threading.Event()
    thread = threading.Thread(target=lambda: worker.run(stop, idle_exit_seconds=30), daemon=True)
    thread.start()
    assert worker.connected.wait(10), "no Mosquitto on 127.0.0.1:1883 (make services)"
    try:
        simulation = _simulate(url, "mqtt", mqtt=BROKER)
        deadline = time.monotonic() + 15
        while worker.stats.stored < simulation.stats.delivered and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(15)
    _check_store(url, simulation, embedded=True)


def test_teltonika_trackers_talk_codec8_over_tcp_and_wait_for_acks(fresh_database_url):
    url = _fleet_database(fresh_database_url, "sim_teltonika")
    listener = TeltonikaListener(sessions=make_sessionmaker(get_engine(url)))
    ready, stop, port = threading.Event(), threading.Event(), {}

    async def serve() -> None:
        server = await listener.serve("127.0.0.1", 0)
        port["value"] = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            while not stop.is_set():
                await asyncio.sleep(0.05)

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        simulation = _simulate(url, "teltonika", teltonika=f"127.0.0.1:{port['value']}")
    finally:
        stop.set()
        thread.join(10)
    assert listener.stats.bad_frames == 0 and listener.stats.records == simulation.stats.delivered
    _check_store(url, simulation, embedded=False)
