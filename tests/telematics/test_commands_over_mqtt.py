"""Commands over a real Mosquitto: the outbox sender publishes, the simulated car answers, the ingest
worker records the answer, and the car's telemetry says whether it is locked."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from random import Random

from sqlalchemy import select

from forecourt.core.clock import now
from forecourt.core.config import get_settings
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.core.events import DomainEvent
from forecourt.messaging import notify
from forecourt.telematics import commands
from forecourt.telematics.listeners.mqtt import BrokerAddress, MqttIngestWorker
from forecourt.telematics.models import Rejection, TwinSignal
from forecourt.telematics.simulator.drive import SimulatedCar
from forecourt.telematics.simulator.fleet import SimVehicle
from forecourt.telematics.simulator.locks import LOCKED_PATH, CommandResponder
from forecourt.telematics.simulator.transports import MqttSender
from tests.telematics.broker import private_mosquitto
from tests.telematics.fleet import committed_fleet, publish_all


class Platform:
    """The ingest worker (listening for answers) and the outbox sender, on one database and broker."""

    def __init__(self, url: str, broker: str):
        self.url, self.broker = url, broker
        self.sessions = make_sessionmaker(get_engine(url))
        self.settings = get_settings(database_url=url, mqtt_url=broker)
        self.worker = MqttIngestWorker(broker=BrokerAddress.parse(broker), sessions=self.sessions,
                                       client_id=f"test-ingest-{uuid.uuid4().hex[:8]}",
                                       topic_handlers={commands.ACK_TOPIC: commands.from_mqtt})
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: self.worker.run(self.stop), daemon=True)

    def __enter__(self) -> Platform:
        self.thread.start()
        assert self.worker.connected.wait(10), "the ingest worker did not subscribe"
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(15)

    def ask(self, vin: str, action: str, seconds: int = 30) -> int:
        with transaction(self.sessions, write=True) as session:
            return commands.request(session=session, vin=vin, action=action, reason="sharing:reservation:42",
                                    deadline=timedelta(seconds=seconds), now=now()).id

    def send(self) -> dict:
        return notify.send_pending(session_factory=self.sessions, settings=self.settings)

    def command(self, command_id: int):
        with self.sessions() as session:
            return commands.get(session=session, command_id=command_id)

    def wait_for(self, command_id: int, status: str, seconds: float = 10):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            command = self.command(command_id)
            if command.status == status:
                return command
            time.sleep(0.05)
        raise AssertionError(f"command {command_id} is {self.command(command_id).status}, not {status}")


def test_an_unlock_reaches_the_simulated_car_its_answer_comes_back_and_the_car_reports_it_unlocked(
        fresh_database_url, tmp_path):
    url = fresh_database_url("commands_mqtt")
    (vin,) = committed_fleet(url, cars=1)
    with private_mosquitto(tmp_path) as broker, Platform(url, broker) as platform:
        car = CommandResponder(broker, [vin])
        try:
            assert car.wait_ready()
            assert car.locks.is_locked(vin) is True
            unlock = platform.ask(vin, "unlock")
            sent = platform.send()
            assert sent["sent"] == 1 or platform.command(unlock).status != "pending"  # or sent at once after commit
            done = platform.wait_for(unlock, "acknowledged")
            assert done.sent_at is not None and done.answered_at is not None
            assert car.locks.is_locked(vin) is False
            assert platform.send()["sent"] == 0  # nothing is sent twice

            sender = MqttSender(broker, f"test-car-{uuid.uuid4().hex[:8]}")
            sender.locks = car.locks
            with platform.sessions() as session:
                vehicle_id = commands.commands_of(session=session, vehicle_id=done.vehicle_id)[0].vehicle_id
            snapshot = SimulatedCar.create(Random(3), datetime.now(UTC).replace(microsecond=0)).snapshot()
            assert sender.send(SimVehicle(vehicle_id=vehicle_id, vin=vin, device_id=vin, secret=None), snapshot, 1)
            assert sender.close() == 0
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with platform.sessions() as session:
                    locked = session.scalar(select(TwinSignal.value).where(
                        TwinSignal.vehicle_id == vehicle_id, TwinSignal.path == LOCKED_PATH))
                if locked is not None:
                    break
                time.sleep(0.05)
            assert locked is False
        finally:
            car.close()
        with platform.sessions() as session:
            names = list(session.scalars(select(DomainEvent.name)))
        assert names.count("telematics.vehicle_command_acknowledged") == 1


def test_a_car_that_ignores_commands_is_reported_as_timed_out_and_its_late_answer_changes_nothing(
        fresh_database_url, tmp_path):
    url = fresh_database_url("commands_timeout")
    (vin,) = committed_fleet(url, cars=1)
    with private_mosquitto(tmp_path) as broker, Platform(url, broker) as platform:
        car = CommandResponder(broker, [vin], ignore=True)
        try:
            assert car.wait_ready()
            lock = platform.ask(vin, "lock", seconds=5)
            platform.send()
            platform.wait_for(lock, "sent")
            time.sleep(0.5)
            assert platform.command(lock).status == "sent"  # the car said nothing
        finally:
            car.close()
        with transaction(platform.sessions, write=True) as session:
            assert commands.expire_due(session=session, now=now() + timedelta(seconds=6)) == 1
        publish_all(broker, [(f"vehicles/{vin}/commands/ack", json.dumps({"id": lock, "result": "ok"}).encode()),
                             (f"vehicles/{vin}/commands/ack", b"{broken")])
        deadline = time.monotonic() + 10
        while platform.command(lock).late_result is None and time.monotonic() < deadline:
            time.sleep(0.05)
        command = platform.command(lock)
        assert (command.status, command.late_result) == ("timed_out", "ok")
        with platform.sessions() as session:
            failed = [json.loads(payload) for payload in session.scalars(select(DomainEvent.payload).where(
                DomainEvent.name == "telematics.vehicle_command_failed"))]
            assert [(f["command_id"], f["why"]) for f in failed] == [(lock, "timed_out")]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not session.scalars(select(Rejection.reason)).all():
                time.sleep(0.05)
                session.expire_all()
            assert "not understood" in session.scalars(select(Rejection.reason)).one()


def test_an_unreachable_broker_leaves_the_command_to_be_tried_again_within_seconds(fresh_database_url):
    url = fresh_database_url("commands_no_broker")
    (vin,) = committed_fleet(url, cars=1)
    from tests.telematics.broker import free_port

    platform = Platform(url, f"mqtt://127.0.0.1:{free_port()}")
    unlock = platform.ask(vin, "unlock")
    result = platform.send()
    assert result["failed"] == 1 and platform.command(unlock).status == "pending"
    with platform.sessions() as session:
        from forecourt.core.outbox import OutboxMessage

        message = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "mqtt")).one()
        wait = (message.next_attempt_at.replace(tzinfo=UTC) - now()).total_seconds()
        assert 0 < wait <= 10 and "cannot be reached" in message.last_error


def test_a_server_without_an_ingest_worker_takes_the_answers_itself(fresh_database_url, tmp_path):
    """``forecourt serve --simulate``: the demo cars report over HTTP and answer commands over MQTT."""
    from forecourt.telematics.listeners.answers import AnswerListener

    url = fresh_database_url("commands_answers")
    (vin,) = committed_fleet(url, cars=1)
    with private_mosquitto(tmp_path) as broker:
        platform = Platform(url, broker)  # its ingest worker is not started
        listener = AnswerListener(broker, platform.sessions).start()
        car = CommandResponder(broker, [vin])
        try:
            assert listener.subscribed.wait(10) and car.wait_ready()
            unlock = platform.ask(vin, "unlock")
            assert platform.send()["sent"] == 1
            platform.wait_for(unlock, "acknowledged")
            publish_all(broker, [(f"vehicles/{vin}/commands/ack", json.dumps({"id": unlock, "result": "ok"}).encode())])
            time.sleep(0.3)
            assert listener.recorded == 1  # the repeated answer changed nothing
        finally:
            car.close()
            listener.close()


def test_forecourt_ingest_records_the_answers_in_its_store_processes(fresh_database_url, tmp_path):
    """The wiring ``forecourt ingest`` runs: the answer topic is a handler of its spawned store processes."""
    from forecourt.cli import ingest_worker

    url = fresh_database_url("commands_ingest")
    (vin,) = committed_fleet(url, cars=1)
    with private_mosquitto(tmp_path) as broker:
        worker, processes = ingest_worker(url, broker, client_id=f"test-ingest-{uuid.uuid4().hex[:8]}",
                                          store_processes=1, service_proposals=False)
        stop = threading.Event()
        thread = threading.Thread(target=lambda: worker.run(stop), daemon=True)
        thread.start()
        car = CommandResponder(broker, [vin])
        try:
            assert worker.connected.wait(20) and car.wait_ready()
            platform = Platform(url, broker)  # its own ingest worker is not started
            lock = platform.ask(vin, "lock")
            assert platform.send()["sent"] == 1
            assert platform.wait_for(lock, "acknowledged", seconds=20).answer is None
        finally:
            car.close()
            stop.set()
            thread.join(20)
            processes.close()


def test_a_car_that_was_offline_never_receives_a_command_whose_time_has_passed(fresh_database_url, tmp_path):
    """The broker keeps a command for a car's persistent session only until its deadline (MQTT 5 expiry)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    url = fresh_database_url("commands_expiry")
    (vin,) = committed_fleet(url, cars=1)
    with private_mosquitto(tmp_path) as broker:
        host, port = broker.removeprefix("mqtt://").split(":")
        received: list = []

        def car_session() -> mqtt.Client:
            client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"car-{vin}",
                                 protocol=mqtt.MQTTv5)
            client.on_message = lambda _c, _u, message: received.append(message.payload)
            from paho.mqtt.properties import Properties
            from paho.mqtt.packettypes import PacketTypes

            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 3600
            client.connect(host, int(port), clean_start=False, properties=properties)
            client.loop_start()
            return client

        car = car_session()
        car.subscribe(f"vehicles/{vin}/commands", qos=1)
        time.sleep(0.5)
        car.disconnect()
        car.loop_stop()
        platform = Platform(url, broker)
        quick, patient = platform.ask(vin, "unlock", seconds=5), platform.ask(vin, "lock", seconds=60)
        assert platform.send()["sent"] == 2
        expires = platform.command(quick).expires_at.replace(tzinfo=UTC)
        time.sleep(max(0.0, (expires - now()).total_seconds()) + 1.5)  # the car comes back after the unlock's deadline
        car = car_session()
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        car.disconnect()
        car.loop_stop()
        assert [json.loads(payload)["id"] for payload in received] == [patient]
        assert quick != patient
