"""Cars with embedded units in a committed database, and a publisher that speaks like them."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.telematics import devices
from forecourt.telematics.readings import Source
from tests.factories import Factory

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def committed_fleet(url: str, cars: int) -> list[str]:
    """Registers ``cars`` vehicles with embedded units in the database at ``url``; returns their VINs."""
    with transaction(make_sessionmaker(get_engine(url))) as session:
        make = Factory(session=session, client=None)
        vins = []
        for _ in range(cars):
            vehicle = make.vehicle()
            devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
            vins.append(vehicle.vin)
    return vins


def sample(i: int) -> bytes:
    """Message number ``i``: a unique odometer value lets a test find every message it sent."""
    return json.dumps({"timestamp": (T0 + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
                       "Vehicle.Speed": float(i % 130), "Vehicle.TraveledDistance": 1_000_000 + i}).encode()


def publisher(url: str, client_id: str) -> mqtt.Client:
    host, port = url.removeprefix("mqtt://").split(":")
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, int(port))
    client.loop_start()
    return client


def publish_all(url: str, messages: list[tuple[str, bytes]], *, qos: int = 1) -> None:
    """Publishes (topic, payload) pairs with QoS 1, as cars do, and waits until the broker has each."""
    cars = publisher(url, f"test-car-{uuid.uuid4().hex[:8]}")
    try:
        for info in [cars.publish(topic, payload, qos=qos) for topic, payload in messages]:
            info.wait_for_publish(10)
    finally:
        cars.loop_stop()
        cars.disconnect()


def run_until_idle(worker, *, idle_seconds: float):
    """Runs the ingest worker in a thread until nothing has arrived for ``idle_seconds``; returns a
    function that waits for it to finish and gives its stats."""
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(
        stats=worker.run(threading.Event(), idle_exit_seconds=idle_seconds)), daemon=True)
    thread.start()
    assert worker.connected.wait(10), "the worker did not connect to the broker"

    def finished():
        thread.join(30)
        assert not thread.is_alive(), "the worker did not stop"
        return result["stats"]
    return finished
