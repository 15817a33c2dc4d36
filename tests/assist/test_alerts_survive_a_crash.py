"""An SOS or a crash committed by a process that is SIGKILLed before the alert's handler ran still
opens exactly one case: the event was written with the reading, the worker delivers it, and the
redelivered message is a duplicate that raises nothing. Over MQTT, Teltonika and the phone app, each
through the real commands (`forecourt ingest`, `forecourt serve`, `forecourt worker`).

``die_after_commit/sitecustomize.py`` makes the first process that commits an alert kill itself
right after the commit (before any handler), once.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from forecourt.assist.models import Case
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.core.events import DELIVERED, PENDING, DomainEvent
from forecourt.core.heartbeats import Heartbeat
from forecourt.telematics import devices
from forecourt.telematics.models import Sample, VehicleEventRecord
from forecourt.telematics.readings import Source
from forecourt.telematics.simulator.codec8 import Record, encode_frame, hello
from tests.factories import Factory
from tests.telematics.broker import private_mosquitto
from tests.telematics.fleet import publisher, sample

ROOT = Path(__file__).resolve().parents[2]
KILLER = Path(__file__).resolve().parent / "die_after_commit"
IMEI = "356307042441013"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Scene:
    """A fresh database with one owned car and its devices, and the processes of one test."""

    def __init__(self, url: str, tmp_path: Path):
        self.url, self.tmp = url, tmp_path
        self.marker = tmp_path / "died"
        self.log = tmp_path / "processes.log"
        self.sessions = make_sessionmaker(get_engine(url))
        self.processes: list[subprocess.Popen] = []
        with transaction(self.sessions) as session:
            make = Factory(session=session, client=None)
            owner = make.customer()
            vehicle = make.vehicle(owner=owner)
            self.vehicle_id, self.vin = vehicle.id, vehicle.vin
            devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
            devices.register(session=session, kind=Source.TRACKER, identifier=IMEI, vehicle_id=vehicle.id)
            _, self.phone_token = devices.register(session=session, kind=Source.PHONE,
                                                   identifier=f"phone-{vehicle.id}", vehicle_id=vehicle.id)
        self.phone = f"phone-{self.vehicle_id}"

    def start(self, *args: str, killer: bool = False) -> subprocess.Popen:
        env = os.environ | {"FORECOURT_DATABASE_URL": self.url, "FORECOURT_WORKER_POLL_SECONDS": "0.3",
                            "FORECOURT_HEARTBEAT_SECONDS": "1"}
        for name in ("ONCALL_REMINDERS", "RECALL_REMINDERS", "PROPOSAL_EXPIRY", "POSITION_RETENTION", "EVENT_CLEANUP"):
            env[f"FORECOURT_SCHEDULE_{name}"] = "off"
        if killer:
            env["PYTHONPATH"] = os.pathsep.join([str(KILLER), str(ROOT), env.get("PYTHONPATH", "")])
            env["FORECOURT_TEST_DIE_AFTER_COMMIT"] = str(self.marker)
        with self.log.open("ab") as output:
            process = subprocess.Popen([sys.executable, "-m", "forecourt.cli", *args], env=env, cwd=self.tmp,
                                       stdout=output, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()

    def wait_for(self, condition, seconds: float, what: str, meanwhile=None) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            if meanwhile is not None:
                meanwhile()
            time.sleep(0.3)
        raise AssertionError(f"timed out after {seconds}s waiting for {what}; log:\n{self.log.read_text()[-4000:]}")

    def count(self, model, *where) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where))

    def cases(self) -> int:
        return self.count(Case, Case.vehicle_id == self.vehicle_id)

    def alert_events(self, status: str) -> int:
        return self.count(DomainEvent, DomainEvent.name == "telematics.vehicle_signalled", DomainEvent.status == status)

    def died_after_commit(self, kind: str) -> None:
        """The reading and its durable event are committed; the handler never ran."""
        assert self.count(VehicleEventRecord, VehicleEventRecord.vehicle_id == self.vehicle_id,
                          VehicleEventRecord.kind == kind) == 1
        assert self.alert_events(PENDING) == 1 and self.cases() == 0

    def worker_opens_exactly_one_case(self, resend) -> None:
        self.start("worker")
        self.wait_for(lambda: self.cases() == 1, 60, "the worker to open the case")
        resend()  # the device sends the same alert again, as an unacknowledged one is
        time.sleep(2.0)
        assert self.cases() == 1
        assert (self.alert_events(DELIVERED), self.alert_events(PENDING)) == (1, 0)


@pytest.fixture
def scene(fresh_database_url, tmp_path):
    made = Scene(fresh_database_url("alerts"), tmp_path)
    yield made
    made.stop_all()


def _alert(kind: str) -> bytes:
    return json.dumps({"timestamp": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
                       "events": [kind], "Vehicle.Speed": 0.0, "Vehicle.CurrentLocation.Latitude": 52.52,
                       "Vehicle.CurrentLocation.Longitude": 13.405}).encode()


@pytest.mark.parametrize("kind", ["crash", "sos"])
def test_mqtt_the_alert_lane_killed_after_its_commit(scene, tmp_path, kind):
    with private_mosquitto(tmp_path) as broker:
        scene.start("ingest", "--mqtt", broker, "--client-id", f"ingest-{uuid.uuid4().hex[:8]}", "--store-processes",
                    "1", killer=True)
        car = publisher(broker, f"car-{uuid.uuid4().hex[:8]}")
        message = _alert(kind)

        def send() -> None:
            car.publish(f"vehicles/{scene.vin}/telemetry", message, qos=1).wait_for_publish(10)

        try:
            # repeated until a process committed it (a message before the subscription reaches nobody)
            scene.wait_for(scene.marker.exists, 90, "the alert lane to commit the alert and die", meanwhile=send)
            time.sleep(1.0)  # the worker replaced its store process and stored the repeats: duplicates
            scene.died_after_commit(kind)
            assert scene.count(Heartbeat, Heartbeat.role == "ingest") == 1  # /api/health sees ingest alive
            scene.worker_opens_exactly_one_case(send)
            # and ingest goes on: the killed process held the SQLite write turn, which its successor got back
            car.publish(f"vehicles/{scene.vin}/telemetry", sample(1), qos=1).wait_for_publish(10)
            scene.wait_for(lambda: scene.count(Sample, Sample.vehicle_id == scene.vehicle_id,
                                               Sample.path == "Vehicle.TraveledDistance") == 1,
                           60, "telemetry after the kill to be stored")
        finally:
            car.loop_stop()
            car.disconnect()


def _tracker_says(port: int, frame: bytes) -> bytes:
    """Handshake and one frame; the listener's answer (b"" when it died without answering)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as tracker:
        tracker.sendall(hello(IMEI))
        assert tracker.recv(1) == b"\x01"
        tracker.sendall(frame)
        answer = b""
        try:
            while len(answer) < 4:
                chunk = tracker.recv(4 - len(answer))
                if not chunk:
                    break
                answer += chunk
        except ConnectionResetError:
            pass
        return answer


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_teltonika_the_listener_killed_after_its_commit(scene):
    port = _free_port()
    crash = encode_frame([Record(timestamp=datetime.now(UTC).replace(microsecond=0), latitude=52.52, longitude=13.405,
                                 satellites=9, event_io_id=247, io={247: (1, 1)})])
    listener = scene.start("ingest", "--mqtt", "none", "--teltonika", f"127.0.0.1:{port}", killer=True)
    scene.wait_for(lambda: _listening(port), 60, "the Teltonika listener")
    assert _tracker_says(port, crash) == b""  # no acknowledgement: the listener died after its commit
    listener.wait(20)
    assert scene.marker.exists()
    scene.died_after_commit("crash")
    scene.start("ingest", "--mqtt", "none", "--teltonika", f"127.0.0.1:{port}")  # restarted
    scene.wait_for(lambda: _listening(port), 60, "the restarted Teltonika listener")
    scene.worker_opens_exactly_one_case(lambda: _tracker_says(port, crash) == (1).to_bytes(4, "big") or None)


def test_phone_app_the_server_killed_after_its_commit(scene):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    sos = {"id": scene.phone, "timestamp": str(int(time.time())), "lat": "52.52", "lon": "13.405", "alarm": "sos"}

    def up() -> bool:
        try:
            return httpx.get(f"{base}/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    server = scene.start("serve", "--port", str(port), killer=True)
    scene.wait_for(up, 60, "the server")
    with pytest.raises(httpx.HTTPError):  # the phone gets no answer: the server died after the commit
        httpx.get(f"{base}/osmand/{scene.phone_token}", params=sos, timeout=20)
    server.wait(20)
    assert scene.marker.exists()
    scene.died_after_commit("sos")
    scene.start("serve", "--port", str(port))  # restarted
    scene.wait_for(up, 60, "the restarted server")
    scene.worker_opens_exactly_one_case(lambda: httpx.get(f"{base}/osmand/{scene.phone_token}", params=sos,
                                                                          timeout=20)
                                        .raise_for_status())
