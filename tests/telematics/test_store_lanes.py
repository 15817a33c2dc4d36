"""Storing in processes of their own: an SOS never waits behind telemetry, a dead store process is
replaced and the batch it held is stored exactly once."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.telematics.listeners.mqtt import BrokerAddress, MqttIngestWorker, is_urgent
from forecourt.telematics.listeners.store import BatchStore, StoreProcess
from forecourt.telematics.models import Sample, VehicleEventRecord
from tests.telematics.broker import private_mosquitto
from tests.telematics.fleet import T0, committed_fleet, publish_all, publisher, run_until_idle, sample

def _count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_an_sos_is_stored_while_a_slow_batch_of_telemetry_is_still_being_stored(fresh_database_url, tmp_path):
    with private_mosquitto(tmp_path) as broker:  # counts every message: no other test's cars on this broker
        _sos_beside_slow_batch(fresh_database_url("lanes"), broker)


def _sos_beside_slow_batch(url: str, broker: str) -> None:
    vins = committed_fleet(url, cars=2)
    sessions = make_sessionmaker(get_engine(url))
    telemetry_store = BatchStore(sessions=sessions)
    release = threading.Event()

    def slow_store(batch):
        release.wait(20)  # the database is slow today
        return telemetry_store(batch)

    worker = MqttIngestWorker(broker=BrokerAddress.parse(broker), client_id=f"test-lanes-{uuid.uuid4().hex[:8]}",
                              store=slow_store, alert_store=BatchStore(sessions=sessions))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    assert worker.connected.wait(10), "the worker did not connect to Mosquitto"
    cars = publisher(broker, f"test-car-{uuid.uuid4().hex[:8]}")
    try:
        for i in range(5):
            cars.publish(f"vehicles/{vins[0]}/telemetry", sample(i), qos=1).wait_for_publish(10)
        sos = json.dumps({"timestamp": (T0 + timedelta(seconds=30)).isoformat().replace("+00:00", "Z"),
                          "Vehicle.Speed": 0.0, "events": ["sos"]}).encode()
        cars.publish(f"vehicles/{vins[1]}/telemetry", sos, qos=1).wait_for_publish(10)
        deadline = time.monotonic() + 10
        while _count(sessions, VehicleEventRecord, VehicleEventRecord.kind == "sos") == 0:
            assert time.monotonic() < deadline, "the SOS waited behind the telemetry"
            time.sleep(0.05)
        assert _count(sessions, Sample, Sample.path == "Vehicle.TraveledDistance") == 0  # still held up
        release.set()
        deadline = time.monotonic() + 10
        while _count(sessions, Sample, Sample.path == "Vehicle.TraveledDistance") < 5:
            assert time.monotonic() < deadline, "the telemetry was never stored"
            time.sleep(0.05)
    finally:
        release.set()
        stop.set()
        thread.join(10)
        cars.loop_stop()
        cars.disconnect()
    assert worker.stats.messages == 6 and worker.stats.stored == 6


def test_a_store_process_that_dies_is_replaced_and_nothing_is_stored_twice(fresh_database_url):
    url = fresh_database_url("store")
    vin = committed_fleet(url, cars=1)[0]
    sessions = make_sessionmaker(get_engine(url))
    store = StoreProcess(url).start()
    try:
        first = store([(f"vehicles/{vin}/telemetry", sample(i)) for i in range(3)])
        assert (first.stored, first.duplicates) == (3, 0)
        store._process.kill()
        store._process.join(10)
        # the same messages again (a redelivery) and two new ones, through a new process
        again = store([(f"vehicles/{vin}/telemetry", sample(i)) for i in range(5)])
        assert (again.stored, again.duplicates) == (2, 3)
        refused = store([(f"vehicles/{vin}/telemetry", b"{broken")])
        assert refused.rejected == 1
    finally:
        store.close()
    assert _count(sessions, Sample, Sample.path == "Vehicle.TraveledDistance") == 5


def test_a_store_process_is_ready_only_once_it_has_connected(fresh_database_url):
    store = StoreProcess(fresh_database_url("ready")).start()
    try:
        assert not store._ready.is_set()  # still importing: a worker must not subscribe yet
        store.wait_ready(timeout=60)
        assert store._ready.is_set() and store._process.is_alive()
    finally:
        store.close()


def _setup_that_fails(sessions) -> None:
    raise RuntimeError("no handlers today")


def test_a_store_process_that_cannot_start_is_reported_instead_of_awaited(fresh_database_url):
    store = StoreProcess(fresh_database_url("broken-start"), setup=_setup_that_fails).start()
    try:
        started = time.monotonic()
        with pytest.raises(RuntimeError, match=r"the store process exited \(code 1\) while starting"):
            store.wait_ready(timeout=60)
        assert time.monotonic() - started < 30
    finally:
        store.close(timeout=5)


def test_only_alerts_take_the_alert_lane():
    everyday = b'{"timestamp": 1, "Vehicle.Cabin.Seat.Row1.DriverSide.Airbag.IsDeployed": false}'
    telemetry = "vehicles/WFC1A2B30RA000001/telemetry"
    urgent = [(telemetry, b'{"timestamp": 1, "events": ["sos"]}'), (telemetry, b'{"events":["crash"]}'),
              (telemetry, b'{"Vehicle.Cabin.Seat.Row1.DriverSide.Airbag.IsDeployed": true}'),
              (telemetry, b'{"Vehicle.Cabin.Seat.Row1.PassengerSide.Airbag.IsDeployed":true}'),
              ("vehicles/WFC1A2B30RA000001/ecall", b"{}")]
    everyday_ones = [(telemetry, everyday), (telemetry, b'{"events": ["harsh_braking"]}')]
    assert all(is_urgent(topic, payload) for topic, payload in urgent)
    assert not any(is_urgent(topic, payload) for topic, payload in everyday_ones)


def test_two_stores_share_the_telemetry_and_the_detectors_hear_of_every_car(fresh_database_url, tmp_path):
    with private_mosquitto(tmp_path) as broker:  # other tests' cars publish on the shared broker
        _two_stores(fresh_database_url("two-stores"), broker)


def _two_stores(url: str, broker: str) -> None:
    vins = committed_fleet(url, cars=4)
    sessions = make_sessionmaker(get_engine(url))
    used: list[int] = []
    heard: set[int] = set()

    def store_number(n: int):
        store = BatchStore(sessions=sessions)

        def stored(batch):
            used.append(n)
            time.sleep(0.3)  # long enough that the other store takes the next batch
            return store(batch)
        return stored

    worker = MqttIngestWorker(broker=BrokerAddress.parse(broker), client_id=f"test-two-{uuid.uuid4().hex[:8]}",
                              store=[store_number(1), store_number(2)], batch_size=5, linger_seconds=0.0,
                              after_commit=heard.update)
    finished = run_until_idle(worker, idle_seconds=2.0)
    publish_all(broker, [(f"vehicles/{vins[i % 4]}/telemetry", sample(i)) for i in range(40)])
    stats = finished()
    assert stats.stored == 40 and stats.duplicates == 0
    assert set(used) == {1, 2}
    assert _count(sessions, Sample, Sample.path == "Vehicle.TraveledDistance") == 40
    with sessions() as session:
        from forecourt.telematics.models import Device
        assert heard == set(session.scalars(select(Device.vehicle_id).where(Device.identifier.in_(vins))))
