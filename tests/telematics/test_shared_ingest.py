"""Two `forecourt ingest` processes share one subscription (MQTT 5 `$share/<group>/...`) on a real
Mosquitto: the broker spreads every car's messages over both, one of them is SIGKILLed mid-stream
and started again, and still every message is stored exactly once and each car's trips and health
are what one worker alone makes of the same messages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.core.heartbeats import Heartbeat
from forecourt.telematics import devices
from forecourt.telematics.insights import Refresher
from forecourt.telematics.listeners.store import BatchStore
from forecourt.telematics.models import HealthState, ReceivedMessage, Sample, Trip
from forecourt.telematics.readings import Source
from forecourt.vehicles.models import Vehicle
from tests.factories import Factory
from tests.telematics.broker import private_mosquitto
from tests.telematics.fleet import T0, committed_fleet, publisher

CARS, PER_CAR = 40, 300  # 12,000 messages; every car stands still for 7 minutes in the middle: two trips each
GROUP = "forecourt-test"


def _message(car: int, j: int) -> bytes:
    moving = not 100 <= j < 142
    return json.dumps({"timestamp": (T0 + timedelta(seconds=10 * j)).isoformat().replace("+00:00", "Z"),
                       "Vehicle.Speed": float(30 + (j + car) % 60) if moving else 0.0,
                       "Vehicle.TraveledDistance": 50_000 + car * 1_000 + j // 4}).encode()


def _stream(vins: list[str]) -> list[tuple[str, bytes]]:
    return [(f"vehicles/{vin}/telemetry", _message(car, j)) for j in range(PER_CAR) for car, vin in enumerate(vins)]


def _worker(url: str, broker: str, client_id: str, log: Path) -> subprocess.Popen:
    env = os.environ | {"FORECOURT_DATABASE_URL": url, "FORECOURT_INGEST_SHARE_GROUP": GROUP,
                        "FORECOURT_HEARTBEAT_SECONDS": "0.5"}
    with log.open("ab") as output:
        return subprocess.Popen([sys.executable, "-m", "forecourt.cli", "ingest", "--mqtt", broker,
                                 "--client-id", client_id, "--store-processes", "1"],
                                env=env, stdout=output, stderr=subprocess.STDOUT)


def _wait_for(condition, seconds: float, what: str, logs: list[Path], meanwhile=None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        if meanwhile is not None:
            meanwhile()
        time.sleep(0.5)
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in logs)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}\n{tails}")


def _counted(sessions) -> list[int]:
    """Messages each running worker has taken, from its heartbeats."""
    with sessions() as session:
        rows = session.scalars(select(Heartbeat.counters).where(Heartbeat.role == "ingest")).all()
    return [json.loads(counters or "{}").get("messages", 0) for counters in rows]


def _same_fleet(url: str, vins: list[str]) -> None:
    with transaction(make_sessionmaker(get_engine(url))) as session:
        make = Factory(session=session, client=None)
        for vin in vins:
            vehicle = make.vehicle(vin=vin)
            devices.register(session=session, kind=Source.EMBEDDED, identifier=vin, vehicle_id=vehicle.id)


def _outcome(sessions) -> dict:
    """Trips and health by VIN (the two databases number their cars apart)."""
    with sessions() as session:
        trips = session.execute(select(Vehicle.vin, Trip.started_at, Trip.ended_at, Trip.distance_km, Trip.end_reason)
                                .join(Vehicle, Vehicle.id == Trip.vehicle_id).order_by(Vehicle.vin, Trip.started_at)).all()
        health = session.execute(select(Vehicle.vin, HealthState.status, HealthState.service, HealthState.battery)
                                 .join(Vehicle, Vehicle.id == HealthState.vehicle_id).order_by(Vehicle.vin)).all()
        odometers = session.scalars(select(Sample.value).where(Sample.path == "Vehicle.TraveledDistance")).all()
    return {"trips": [tuple(row) for row in trips], "health": [tuple(row) for row in health],
            "odometers": sorted(odometers)}


def _one_worker_alone(url: str, messages: list[tuple[str, bytes]]) -> dict:
    """The same messages, in order, through one store and one refresher: what the answer must be."""
    sessions = make_sessionmaker(get_engine(url))
    store, refresher = BatchStore(sessions=sessions), Refresher(sessions, health_every=0, trips_every=0)
    for start in range(0, len(messages), 2000):
        refresher.after_batch(store(messages[start:start + 2000]).vehicle_ids)
    refresher.flush()
    return _outcome(sessions)


def test_two_workers_share_the_fleet_and_survive_a_kill(fresh_database_url, tmp_path):
    url, reference_url = fresh_database_url("shared"), fresh_database_url("alone")
    vins = committed_fleet(url, cars=CARS)
    _same_fleet(reference_url, vins)
    messages = _stream(vins)
    sessions = make_sessionmaker(get_engine(url))
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    ids = [f"ingest-a-{uuid.uuid4().hex[:6]}", f"ingest-b-{uuid.uuid4().hex[:6]}"]
    with private_mosquitto(tmp_path) as broker:
        workers = [_worker(url, broker, client_id, log) for client_id, log in zip(ids, logs, strict=True)]
        cars = publisher(broker, f"fleet-{uuid.uuid4().hex[:8]}")
        try:
            # The first message again and again (stored once) until both workers have taken some: both
            # are subscribed to the group, so the broker now spreads the stream over the two.
            _wait_for(lambda: len(_counted(sessions)) == 2 and min(_counted(sessions)) > 0, 120,
                      "both workers to take messages of the group", logs,
                      meanwhile=lambda: cars.publish(*messages[0], qos=1))

            def send():
                for topic, payload in messages[1:]:
                    cars.publish(topic, payload, qos=1)

            sending = threading.Thread(target=send)
            sending.start()
            stored = lambda: _count(sessions)  # noqa: E731
            _wait_for(lambda: stored() >= 2_000, 120, "2,000 stored messages before the kill", logs)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(10)
            killed_at = stored()
            sending.join(300)
            workers[0] = _worker(url, broker, ids[0], logs[0])  # its session's unacknowledged messages return
            _wait_for(lambda: stored() >= len(messages), 300, f"all {len(messages):,} messages", logs)
            time.sleep(1.0)  # a late second copy would show now
        finally:
            for worker in workers:
                worker.terminate()  # each finishes its batch and rebuilds the trips it has pending
            for worker in workers:
                worker.wait(120)
            cars.loop_stop()
            cars.disconnect()
    assert 0 < killed_at < len(messages), "the kill should land mid-stream"
    assert all(worker.returncode == 0 for worker in workers)
    shared, alone = _outcome(sessions), _one_worker_alone(reference_url, messages)
    assert len(shared["odometers"]) == len(messages), "every message stored exactly once"
    assert shared["odometers"] == sorted(json.loads(payload)["Vehicle.TraveledDistance"] for _, payload in messages)
    assert len(alone["trips"]) == 2 * CARS
    assert shared["trips"] == alone["trips"], "each car's trips as one worker alone makes them"
    assert shared["health"] == alone["health"]


def _count(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ReceivedMessage))
