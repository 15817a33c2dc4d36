"""SIGKILL the ingest worker in the middle of a 50,000-message QoS 1 stream: after a restart every
message is stored exactly once. Uses a private Mosquitto that holds the stopped worker's queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select

from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.telematics.models import ReceivedMessage, Sample
from tests.telematics.broker import private_mosquitto
from tests.telematics.fleet import committed_fleet, publisher, sample

MESSAGES = 50_000


def _worker(url: str, broker: str, client_id: str, log: Path) -> subprocess.Popen:
    env = os.environ | {"FORECOURT_DATABASE_URL": url}
    with log.open("ab") as output:
        return subprocess.Popen([sys.executable, "-m", "forecourt.cli", "ingest", "--mqtt", broker,
                                 "--client-id", client_id], env=env, stdout=output, stderr=subprocess.STDOUT)


def _stored(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ReceivedMessage))


def _wait_for(condition, seconds: float, what: str, log: Path, meanwhile=None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        if meanwhile is not None:
            meanwhile()
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


def test_sigkill_mid_stream_loses_nothing_and_stores_nothing_twice(fresh_database_url, tmp_path):
    url = fresh_database_url("sigkill")
    vins = committed_fleet(url, cars=50)
    sessions = make_sessionmaker(get_engine(url))
    client_id = f"ingest-{uuid.uuid4().hex[:8]}"
    with private_mosquitto(tmp_path) as broker:
        log = tmp_path / "worker.log"
        worker = _worker(url, broker, client_id, log)
        cars = publisher(broker, f"fleet-{uuid.uuid4().hex[:8]}")
        try:
            # Message 0 is repeated until stored: that proves the worker's persistent session and
            # subscription exist (a message published before it subscribed reaches nobody), and the
            # repeats are the same message, stored once.
            _wait_for(lambda: _stored(sessions) == 1, 60, "the worker to store the first message", log,
                      meanwhile=lambda: cars.publish(f"vehicles/{vins[0]}/telemetry", sample(0), qos=1))

            def stream():
                for i in range(1, MESSAGES):
                    cars.publish(f"vehicles/{vins[i % len(vins)]}/telemetry", sample(i), qos=1)

            sending = threading.Thread(target=stream)
            sending.start()
            _wait_for(lambda: _stored(sessions) >= 5_000, 120, "5,000 stored messages before the kill", log)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            killed_at = _stored(sessions)
            sending.join(300)
            worker = _worker(url, broker, client_id, log)
            _wait_for(lambda: _stored(sessions) >= MESSAGES, 300, f"all {MESSAGES:,} messages after the restart",
                      log)
            time.sleep(1.0)  # anything redelivered late would show up as a second copy now
        finally:
            worker.terminate()
            worker.wait(60)  # it finishes the batch in hand first, which takes a while on a loaded machine
            cars.loop_stop()
            cars.disconnect()
    assert 0 < killed_at < MESSAGES, "the kill should land mid-stream"
    with sessions() as session:
        assert _stored(sessions) == MESSAGES
        odometers = session.scalars(select(Sample.value).where(Sample.path == "Vehicle.TraveledDistance")).all()
        assert len(odometers) == MESSAGES, "every message stored exactly once"
        assert sorted(odometers) == [1_000_000 + i for i in range(MESSAGES)], "no message lost, none doubled"
