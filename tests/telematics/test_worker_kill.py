"""One of two `forecourt ingest` processes in a shared subscription is SIGKILLed mid-stream and
left dead while the stream goes on: the survivor stores its own share, the broker keeps the dead
worker's unacknowledged messages for it (none stored twice by the survivor, none dropped), and once
the dead worker is back every message is stored exactly once — one sample per car and moment.

A smaller, stricter sibling of ``test_shared_ingest`` (which checks trips and health): here the
kill lands while the killed worker is storing, and each message is counted by its own key."""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.telematics.models import ReceivedMessage, Sample
from tests.telematics.broker import private_mosquitto
from tests.telematics.fleet import T0, committed_fleet, publisher
from tests.telematics.test_shared_ingest import _counted, _wait_for, _worker

CARS, PER_CAR = 20, 100  # 2,000 messages


def _message(car: int, j: int) -> bytes:
    return json.dumps({"timestamp": (T0 + timedelta(seconds=10 * j)).isoformat().replace("+00:00", "Z"),
                       "Vehicle.Speed": float(40 + (j + car) % 50),
                       "Vehicle.TraveledDistance": 10_000 + car * 1_000 + j}).encode()


def _stored(sessions) -> tuple[int, int, int]:
    """(ledger keys, odometer samples, distinct (car, moment) of them)."""
    with sessions() as session:
        keys = session.scalar(select(func.count()).select_from(ReceivedMessage))
        odometers = select(Sample.vehicle_id, Sample.measured_at).where(Sample.path == "Vehicle.TraveledDistance")
        samples = session.scalar(select(func.count()).select_from(odometers.subquery()))
        distinct = session.scalar(select(func.count()).select_from(odometers.distinct().subquery()))
    return keys, samples, distinct


def _settled(sessions, seconds: float = 3.0) -> bool:
    """No new message stored for a few seconds."""
    before = _stored(sessions)[0]
    time.sleep(seconds)
    return _stored(sessions)[0] == before


def test_a_killed_worker_loses_nothing_and_doubles_nothing(fresh_database_url, tmp_path):
    url = fresh_database_url("kill")
    vins = committed_fleet(url, cars=CARS)
    messages = [(f"vehicles/{vin}/telemetry", _message(car, j)) for j in range(PER_CAR) for car, vin in enumerate(vins)]
    sessions = make_sessionmaker(get_engine(url))
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    ids = [f"kill-a-{uuid.uuid4().hex[:6]}", f"kill-b-{uuid.uuid4().hex[:6]}"]
    with private_mosquitto(tmp_path) as broker:
        workers = [_worker(url, broker, client_id, log) for client_id, log in zip(ids, logs, strict=True)]
        cars = publisher(broker, f"fleet-{uuid.uuid4().hex[:8]}")
        try:
            _wait_for(lambda: len(_counted(sessions)) == 2 and min(_counted(sessions)) > 0, 120,
                      "both workers to take messages of the group", logs,
                      meanwhile=lambda: cars.publish(*messages[0], qos=1))
            # The first half goes out, the kill lands once 300 are stored, and the second half follows it:
            # on a fast machine the whole stream could otherwise be stored before the kill.
            half = len(messages) // 2

            def send(part):
                return threading.Thread(target=lambda: [cars.publish(t, p, qos=1).wait_for_publish(60)
                                                        for t, p in part])

            sending = send(messages[1:half])
            sending.start()
            _wait_for(lambda: _stored(sessions)[0] >= 300, 120, "300 stored messages before the kill", logs)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(10)
            killed_at = _stored(sessions)[0]
            sending.join(300)
            sending = send(messages[half:])
            sending.start()
            sending.join(300)
            # The survivor drains what the broker gives it. Whether part of the dead worker's share waits
            # at the broker depends on what it had acknowledged when it died (on a slow machine, all of
            # it): what must hold is that the survivor doubles nothing and, below, that nothing is lost.
            _wait_for(lambda: _settled(sessions), 180, "the survivor to store its share", logs[1:])
            keys, samples, distinct = _stored(sessions)
            assert samples == distinct == keys, "the survivor stored nothing a second time"
            workers[0] = _worker(url, broker, ids[0], logs[0])
            _wait_for(lambda: _stored(sessions)[0] >= len(messages), 300, f"all {len(messages):,} messages", logs)
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(120)
            cars.loop_stop()
            cars.disconnect()
    assert 300 <= killed_at < len(messages), "the kill should land mid-stream"
    assert all(worker.returncode == 0 for worker in workers)
    assert _stored(sessions) == (len(messages), len(messages), len(messages)), "each message stored exactly once"
    with sessions() as session:
        odometers = sorted(json.loads(v) if isinstance(v, str) else v for v in session.scalars(
            select(Sample.value).where(Sample.path == "Vehicle.TraveledDistance")))
    assert odometers == sorted(json.loads(payload)["Vehicle.TraveledDistance"] for _, payload in messages)
