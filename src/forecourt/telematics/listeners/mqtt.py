"""The MQTT ingest worker: QoS 1, a persistent session, and acknowledgement only after commit.

The worker subscribes to ``vehicles/+/telemetry`` (optionally as a shared subscription, so any
number of workers split the fleet), collects messages into batches, decodes them, stores each
batch in one transaction and only then sends the PUBACKs. If the process dies before the commit,
the broker still holds the unacknowledged messages and delivers them again to the restarted
worker; the pipeline's message keys make that redelivery harmless.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.orm import Session, sessionmaker

from forecourt.core.db import transaction
from forecourt.telematics import ingest as pipeline
from forecourt.telematics.decoders import vss_json
from forecourt.telematics.readings import DecodeError, Reading

log = logging.getLogger(__name__)

TOPIC = "vehicles/+/telemetry"
SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
RECEIVE_MAXIMUM = 65535  # let the broker keep many messages in flight: acks wait for commits


@dataclass
class WorkerStats:
    messages: int = 0
    readings: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    started: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"Use an mqtt:// address, not '{url}'.")
        return cls(parsed.hostname or "127.0.0.1", parsed.port or 1883, parsed.username, parsed.password)


def decode_message(topic: str, payload: bytes) -> list[Reading]:
    return vss_json.decode(vss_json.topic_vin(topic), payload)


class MqttIngestWorker:
    def __init__(self, *, broker: BrokerAddress, sessions: sessionmaker[Session], client_id: str = "forecourt-ingest",
                 shared_group: str | None = None, batch_size: int = 2000, linger_seconds: float = 0.02,
                 after_commit=None, topic_handlers: dict | None = None):
        self.broker, self.sessions = broker, sessions
        # Other domains' topics ("vehicles/+/ecall" -> handler(session=, topic=, payload=)), passed in by
        # the CLI because telematics may not import them; each message is stored in its own transaction.
        self.topic_handlers = dict(topic_handlers or {})
        prefix = f"$share/{shared_group}/" if shared_group else ""
        self.extra_topics = [prefix + pattern for pattern in self.topic_handlers]
        self.batch_size, self.linger = batch_size, linger_seconds
        self.topic = f"$share/{shared_group}/{TOPIC}" if shared_group else TOPIC
        self.after_commit = after_commit  # called with the committed batch's vehicle ids (trips, health)
        self.inbox: queue.SimpleQueue[mqtt.MQTTMessage] = queue.SimpleQueue()
        self.stats = WorkerStats()
        self.connected = threading.Event()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5, manual_ack=True)
        if broker.username:
            self.client.username_pw_set(broker.username, broker.password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = lambda *_: self.connected.clear()
        self.client.on_message = lambda _client, _userdata, message: self.inbox.put(message)

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        # ``connected`` is set once the broker confirms it
        client.subscribe([(topic, 1) for topic in (self.topic, *self.extra_topics)])

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error("broker refused the subscription to %s: %s", self.topic, reason_codes)
            return
        self.connected.set()

    def start(self) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        self.client.connect(self.broker.host, self.broker.port, keepalive=30, clean_start=False,
                            properties=properties)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def run(self, stop: threading.Event, *, idle_exit_seconds: float | None = None) -> WorkerStats:
        """Process batches until ``stop`` is set (or, for tests and benchmarks, nothing came for a while)."""
        self.start()
        last_message = time.monotonic()
        try:
            while not stop.is_set():
                batch = self._next_batch()
                if batch:
                    self.handle(batch)
                    last_message = time.monotonic()
                elif not self.connected.is_set():
                    last_message = time.monotonic()  # idle time counts only once subscribed
                elif idle_exit_seconds is not None and time.monotonic() - last_message > idle_exit_seconds:
                    break
        finally:
            self.stop()
        return self.stats

    def _next_batch(self) -> list[mqtt.MQTTMessage]:
        try:
            batch = [self.inbox.get(timeout=0.2)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.linger
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=max(remaining, 0)) if remaining > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def handle(self, batch: list[mqtt.MQTTMessage]) -> None:
        """Decode, store, commit — then acknowledge every message of the batch."""
        readings: list[Reading] = []
        refused: list[tuple[mqtt.MQTTMessage, str]] = []
        for message in batch:
            handler = self._handler_for(message.topic)
            if handler is not None:
                self._handle_other(handler, message)
                continue
            try:
                readings.extend(decode_message(message.topic, message.payload))
            except DecodeError as error:
                refused.append((message, str(error)))
        report = self._store(readings, refused)
        for message in batch:
            self.client.ack(message.mid, message.qos)
        self.stats.messages += len(batch)
        self.stats.batches += 1
        if self.after_commit is not None and report.vehicle_ids:
            self.after_commit(report.vehicle_ids)

    def _handler_for(self, topic: str):
        for pattern, handler in self.topic_handlers.items():
            if mqtt.topic_matches_sub(pattern, topic):
                return handler
        return None

    def _handle_other(self, handler, message: mqtt.MQTTMessage) -> None:
        """One message of another domain, committed before its ack; a refusal is recorded, not retried."""
        for attempt in range(1, 6):
            try:
                with transaction(self.sessions, write=True) as session:
                    handler(session=session, topic=message.topic, payload=message.payload)
                return
            except Exception as error:
                if "OperationalError" not in type(error).__name__ or attempt == 5:
                    log.exception("message on %s could not be handled", message.topic)
                    with transaction(self.sessions) as session:
                        parts = message.topic.split("/")
                        pipeline.reject(session=session, channel="mqtt", device_id=parts[1] if len(parts) > 2 else None,
                                        reason=f"{message.topic}: {error}"[:500], excerpt=message.payload)
                    return
                time.sleep(0.1 * attempt)

    def _store(self, readings: list[Reading], refused: list) -> pipeline.IngestReport:
        """Retries until the database takes the batch; nothing is acknowledged before that.

        After a few failed attempts the batch is stored reading by reading, so one reading that
        breaks something cannot hold back the rest: it is recorded as a rejection instead.
        """
        delay, attempt = 0.1, 0
        while True:
            attempt += 1
            try:
                with transaction(self.sessions, write=True) as session:
                    for message, reason in refused:
                        parts = message.topic.split("/")
                        pipeline.reject(session=session, channel="mqtt", device_id=parts[1] if len(parts) > 2 else None,
                                        reason=reason, excerpt=message.payload)
                    report = (pipeline.ingest(session=session, readings=readings, channel="mqtt") if attempt <= 3
                              else self._one_by_one(session, readings))
                break
            except Exception:  # the database is down or busy: keep the messages, try again
                log.exception("storing a batch of %d readings failed; retrying in %.1fs", len(readings), delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.stats.readings += len(readings)
        self.stats.stored += report.stored
        self.stats.duplicates += report.duplicates
        self.stats.rejected += len(refused) + len(report.rejected)
        return report

    @staticmethod
    def _one_by_one(session: Session, readings: list[Reading]) -> pipeline.IngestReport:
        total = pipeline.IngestReport()
        for reading in readings:
            savepoint = session.begin_nested()
            try:
                report = pipeline.ingest(session=session, readings=[reading], channel="mqtt")
                savepoint.commit()
            except Exception as error:
                savepoint.rollback()
                if "OperationalError" in type(error).__name__:
                    raise  # the database itself is failing: retry the batch later
                pipeline.reject(session=session, channel="mqtt", device_id=reading.device_id,
                                reason=f"could not be stored: {type(error).__name__}: {error}"[:500])
                total.rejected.append((reading.device_id, "could not be stored"))
                continue
            total.stored += report.stored
            total.duplicates += report.duplicates
            total.rejected.extend(report.rejected)
            total.vehicle_ids |= report.vehicle_ids
        return total
