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
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.orm import Session, sessionmaker

from forecourt.telematics.listeners.store import BatchResult, BatchStore, Message

log = logging.getLogger(__name__)

TOPIC = "vehicles/+/telemetry"
# Cars report their airbags in every message; only a deployed one is urgent.
_DEPLOYED = re.compile(rb'IsDeployed"\s*:\s*true')
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


class MqttIngestWorker:
    def __init__(self, *, broker: BrokerAddress, sessions: sessionmaker[Session] | None = None,
                 client_id: str = "forecourt-ingest", shared_group: str | None = None, batch_size: int = 2000,
                 linger_seconds: float = 0.02, after_commit=None, topic_handlers: dict | None = None,
                 store: Callable[[list[Message]], BatchResult] | None = None,
                 alert_store: Callable[[list[Message]], BatchResult] | None = None):
        """``store`` takes a batch and returns once it is committed: by default a ``BatchStore`` in
        this process (with ``sessions``, ``topic_handlers`` and ``after_commit``), or a
        ``StoreProcess``. The store's ``topic_patterns`` are subscribed beside the telemetry.
        ``alert_store``, if given, stores SOS and crash messages in a lane of their own, beside
        the batch being stored, instead of next in line."""
        self.broker = broker
        self.store = store or BatchStore(sessions=sessions, topic_handlers=topic_handlers, after_commit=after_commit)
        prefix = f"$share/{shared_group}/" if shared_group else ""
        self.extra_topics = [prefix + pattern for pattern in getattr(self.store, "topic_patterns", ())]
        self.batch_size, self.linger = batch_size, linger_seconds
        self.topic = f"$share/{shared_group}/{TOPIC}" if shared_group else TOPIC
        self.inbox: queue.SimpleQueue[mqtt.MQTTMessage] = queue.SimpleQueue()
        self.alerts: queue.SimpleQueue[mqtt.MQTTMessage] = queue.SimpleQueue()  # stored ahead of the rest
        self.alert_store = alert_store
        self.stats = WorkerStats()
        self._stats_lock = threading.Lock()
        self.connected = threading.Event()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5, manual_ack=True)
        if broker.username:
            self.client.username_pw_set(broker.username, broker.password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = lambda *_: self.connected.clear()
        self.client.on_message = self._on_message

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        """An SOS or a crash skips the queue: under load a batch of telemetry can take a few hundred
        milliseconds to store, and someone may be waiting for the call centre. Only a glance at the
        bytes; the decoder decides what the message really says."""
        payload = message.payload
        urgent = (b'"sos"' in payload or b'"crash"' in payload
                  or (b"IsDeployed" in payload and _DEPLOYED.search(payload) is not None)
                  or not message.topic.endswith("/telemetry"))
        (self.alerts if urgent else self.inbox).put(message)

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
        if self.alert_store is not None:
            threading.Thread(target=self._alert_lane, args=(stop,), name="forecourt-alert-lane", daemon=True).start()
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

    def _alert_lane(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                first = self.alerts.get(timeout=0.2)
            except queue.Empty:
                continue
            self.handle([first, *self._take(self.alerts)], store=self.alert_store)

    def _next_batch(self) -> list[mqtt.MQTTMessage]:
        alerts = self._take(self.alerts) if self.alert_store is None else []
        if alerts:
            return alerts
        try:
            batch = [self.inbox.get(timeout=0.2)]
        except queue.Empty:
            return self._take(self.alerts) if self.alert_store is None else []
        deadline = time.monotonic() + self.linger
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=max(remaining, 0)) if remaining > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _take(self, source: queue.SimpleQueue) -> list[mqtt.MQTTMessage]:
        taken: list[mqtt.MQTTMessage] = []
        while len(taken) < self.batch_size:
            try:
                taken.append(source.get_nowait())
            except queue.Empty:
                break
        return taken

    def handle(self, batch: list[mqtt.MQTTMessage], *, store=None) -> None:
        """Store and commit — then acknowledge every message of the batch."""
        result = (store or self.store)([(message.topic, message.payload) for message in batch])
        for message in batch:
            self.client.ack(message.mid, message.qos)
        with self._stats_lock:
            self.stats.messages += len(batch)
            self.stats.batches += 1
            self.stats.readings += result.readings
            self.stats.stored += result.stored
            self.stats.duplicates += result.duplicates
            self.stats.rejected += result.rejected
