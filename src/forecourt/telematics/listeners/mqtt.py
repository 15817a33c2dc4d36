"""The MQTT ingest worker: QoS 1, a persistent session, and acknowledgement only after commit.

The worker subscribes to ``vehicles/+/telemetry`` (optionally as a shared subscription, so any
number of workers split the fleet), collects messages into batches, stores each batch in one
transaction and only then sends the PUBACKs. If the process dies before the commit, the broker
still holds the unacknowledged messages and delivers them again to the restarted worker; the
pipeline's message keys make that redelivery harmless.

The client is gmqtt on an asyncio loop: it parses every packet a socket read brings in one go,
where a thread-per-client library reads each packet with several system calls. Receiving is what
limits a Python ingest on a small machine, so this is where the fleet's rate is decided. A QoS 1
message goes straight into a batch (``take_qos1``), and the batch's PUBACKs go out in one write
once it is committed (``acknowledge``). Storing runs in threads beside the loop (and, as ``forecourt ingest``
runs it, in processes of their own), so the next batch is received while this one is stored.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlparse

import gmqtt
from gmqtt.mqtt.constants import MQTTCommands, MQTTv50
from gmqtt.mqtt.package import CommandWithMidPacket
from sqlalchemy.orm import Session, sessionmaker

from forecourt.telematics.listeners.store import BatchResult, BatchStore, Message

log = logging.getLogger(__name__)

TOPIC = "vehicles/+/telemetry"
# Cars report their airbags in every message; only a deployed one is urgent.
_DEPLOYED = re.compile(rb'IsDeployed"\s*:\s*true')
SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
RECEIVE_MAXIMUM = 65535  # let the broker keep many messages in flight: acks wait for commits
RECONNECT_DELAY_SECONDS = 2
Store = Callable[[list[Message]], BatchResult]
_STORED = 0  # the PUBACK reason code "success"


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


def is_urgent(topic: str, payload: bytes) -> bool:
    """An SOS or a crash skips the queue: under load a batch of telemetry can take a few hundred
    milliseconds to store, and someone may be waiting for the call centre. Only a glance at the
    bytes; the decoder decides what the message really says. Other domains' topics (eCall) are
    urgent by nature."""
    return (b'"sos"' in payload or b'"crash"' in payload
            or (b"IsDeployed" in payload and _DEPLOYED.search(payload) is not None)
            or not topic.endswith("/telemetry"))


@dataclass
class Batch:
    messages: list[Message]
    committed: asyncio.Future  # what QoS 0 and 2 messages wait for (their coroutine returns then)
    packet_ids: list[int] = field(default_factory=list)  # the QoS 1 messages, acknowledged at once


class Lane:
    """Messages waiting to be stored, in batches of at most ``batch_size``. Lives on the worker's
    event loop; the one who stores a batch acknowledges it (``acknowledge``) once it is committed."""

    def __init__(self, *, batch_size: int, linger: float, arrived: asyncio.Event):
        self.batch_size, self.linger, self.arrived = batch_size, linger, arrived
        self.batches: deque[Batch] = deque()

    def add(self, message: Message, packet_id: int | None = None) -> asyncio.Future:
        if not self.batches or len(self.batches[-1].messages) >= self.batch_size:
            self.batches.append(Batch([], asyncio.get_running_loop().create_future()))
        batch = self.batches[-1]
        batch.messages.append(message)
        if packet_id is not None:
            batch.packet_ids.append(packet_id)
        self.arrived.set()
        return batch.committed

    @property
    def full(self) -> bool:
        return bool(self.batches) and len(self.batches[0].messages) >= self.batch_size


def take_qos1(client: gmqtt.Client, receive: Callable[[str, bytes, int], None]) -> None:
    """Hands each QoS 1 PUBLISH to ``receive(topic, payload, packet id)`` and leaves its PUBACK to
    ``acknowledge``.

    gmqtt would wrap every message in a task whose end sends its PUBACK with a write of its own:
    a task, three loop callbacks and a system call per message, half of what receiving cost.
    The batch's PUBACKs go out together after its commit instead. This replaces one method of
    gmqtt's packet handler (pinned at 0.8.0; the worker tests would notice a change).
    """
    client._package_handler._handle_qos_1_publish_packet = (
        lambda packet_id, payload, topic, _properties: receive(topic, payload, packet_id))


def acknowledge(client: gmqtt.Client, batch: Batch) -> None:
    """The batch is committed: its QoS 1 messages' PUBACKs in one write, and its other messages
    released (their coroutines return, and gmqtt acknowledges them)."""
    if not batch.committed.done():
        batch.committed.set_result(None)
    if batch.packet_ids and client._connection is not None:
        client._connection._protocol.write_data(b"".join(
            CommandWithMidPacket.build_package(MQTTCommands.PUBACK, packet_id, False, proto_ver=MQTTv50)
            for packet_id in batch.packet_ids))


class MqttIngestWorker:
    def __init__(self, *, broker: BrokerAddress, sessions: sessionmaker[Session] | None = None,
                 client_id: str = "forecourt-ingest", shared_group: str | None = None, batch_size: int = 2000,
                 linger_seconds: float = 0.02, after_commit=None, topic_handlers: dict | None = None,
                 store: Store | Sequence[Store] | None = None, alert_store: Store | None = None):
        """``store`` takes a batch and returns once it is committed: by default a ``BatchStore`` in
        this process (with ``sessions`` and ``topic_handlers``), or ``StoreProcess``es; given
        several, each stores every other batch, side by side. The store's ``topic_patterns`` are
        subscribed beside the telemetry. ``alert_store``, if given, stores SOS and crash messages
        in a lane of their own, beside the batches being stored; without it they are stored next,
        ahead of waiting telemetry. ``after_commit`` gets the cars of each committed batch."""
        self.broker = broker
        self.client_id = client_id
        stores = store if isinstance(store, Sequence) else [store or BatchStore(sessions=sessions,
                                                                                topic_handlers=topic_handlers)]
        self.stores: list[Store] = list(stores)
        self.store = self.stores[0]
        self.alert_store = alert_store
        self.after_commit = after_commit
        self._after_commit_lock = threading.Lock()
        prefix = f"$share/{shared_group}/" if shared_group else ""
        self.topic = prefix + TOPIC
        self.extra_topics = [prefix + pattern for pattern in getattr(self.store, "topic_patterns", ())]
        self.batch_size, self.linger = batch_size, linger_seconds
        self.stats = WorkerStats()
        self._stats_lock = threading.Lock()
        self.connected = threading.Event()
        self._last_activity = time.monotonic()
        self._storing = 0

    # --- receiving ------------------------------------------------------------------------------

    def _client(self) -> gmqtt.Client:
        client = gmqtt.Client(self.client_id, clean_session=False, optimistic_acknowledgement=False,
                              session_expiry_interval=SESSION_EXPIRY_SECONDS, receive_maximum=RECEIVE_MAXIMUM)
        client.set_config({"reconnect_delay": RECONNECT_DELAY_SECONDS})
        if self.broker.username:
            client.set_auth_credentials(self.broker.username, self.broker.password)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = lambda *_: self.connected.clear()
        client.on_message = self._on_message
        take_qos1(client, self._on_qos1)
        return client

    def _on_connect(self, client, _flags, reason_code, _properties) -> None:
        if reason_code:
            log.error("the broker refused the connection: reason code %s", reason_code)
            return
        client.subscribe([gmqtt.Subscription(topic, qos=1) for topic in (self.topic, *self.extra_topics)])

    def _on_subscribe(self, _client, _mid, granted, _properties) -> None:
        if any(code >= 0x80 for code in granted):
            log.error("the broker refused the subscription to %s: %s", self.topic, granted)
            return
        self.connected.set()

    def _on_qos1(self, topic: str, payload: bytes, packet_id: int) -> None:
        """A QoS 1 message (what cars send): acknowledged with its batch, once that is committed."""
        self._last_activity = time.monotonic()
        (self._alerts if is_urgent(topic, payload) else self._telemetry).add((topic, payload), packet_id)

    async def _on_message(self, _client, topic: str, payload: bytes, _qos, _properties) -> int:
        """QoS 0 and 2: returns (and so lets gmqtt acknowledge a QoS 2 message) only once the
        message's batch is committed."""
        self._last_activity = time.monotonic()
        lane = self._alerts if is_urgent(topic, payload) else self._telemetry
        await lane.add((topic, payload))
        return _STORED

    # --- storing --------------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, idle_exit_seconds: float | None = None) -> WorkerStats:
        """Process batches until ``stop`` is set (or, for tests and benchmarks, nothing came for a while)."""
        return asyncio.run(self._run(stop, idle_exit_seconds))

    async def _run(self, stop: threading.Event, idle_exit_seconds: float | None) -> WorkerStats:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(_quiet_about_unacknowledged)
        telemetry_arrived, alerts_arrived = asyncio.Event(), asyncio.Event()
        self._telemetry = Lane(batch_size=self.batch_size, linger=self.linger, arrived=telemetry_arrived)
        self._alerts = Lane(batch_size=self.batch_size, linger=0,
                            arrived=alerts_arrived if self.alert_store is not None else telemetry_arrived)
        self._stopping = asyncio.Event()
        executor = ThreadPoolExecutor(max_workers=len(self.stores) + 1, thread_name_prefix="forecourt-store")
        if self.alert_store is not None:
            lanes = [*(self._drain([self._telemetry], store, executor) for store in self.stores),
                     self._drain([self._alerts], self.alert_store, executor)]
        else:  # alerts go first
            lanes = [self._drain([self._alerts, self._telemetry], store, executor) for store in self.stores]
        client = self._mqtt = self._client()
        await client.connect(self.broker.host, self.broker.port, keepalive=30, version=MQTTv50)
        drains = [asyncio.create_task(lane) for lane in lanes]
        try:
            while not stop.is_set():
                await asyncio.sleep(0.1)
                for drain in drains:
                    if drain.done():
                        drain.result()  # a store that fails for good stops the worker; nothing is acked
                if not self.connected.is_set() or self._storing or self._waiting():
                    self._last_activity = time.monotonic()  # idle time counts only once subscribed
                elif idle_exit_seconds is not None and time.monotonic() - self._last_activity > idle_exit_seconds:
                    break
        finally:
            self._stopping.set()
            await asyncio.gather(*drains, return_exceptions=True)  # the batch in hand is committed
            await let_acknowledgements_out()
            await client.disconnect()
            executor.shutdown(wait=True)
        return self.stats

    def _waiting(self) -> bool:
        return bool(self._telemetry.batches or self._alerts.batches)

    async def _drain(self, lanes: list[Lane], store, executor: ThreadPoolExecutor) -> None:
        loop = asyncio.get_running_loop()
        arrived = lanes[0].arrived
        while not self._stopping.is_set():
            lane = next((lane for lane in lanes if lane.batches), None)
            if lane is None:
                arrived.clear()
                try:
                    await asyncio.wait_for(arrived.wait(), 0.2)
                except TimeoutError:
                    pass
                continue
            if lane.linger and not lane.full:
                await asyncio.sleep(lane.linger)  # let the batch fill up a little
                if not lane.batches:
                    continue  # another store took it meanwhile
            batch = lane.batches.popleft()
            self._storing += 1
            try:
                await loop.run_in_executor(executor, functools.partial(self.handle, batch.messages, store=store))
            finally:
                self._storing -= 1
            acknowledge(self._mqtt, batch)
            self._last_activity = time.monotonic()

    def handle(self, batch: list[Message], *, store=None) -> BatchResult:
        """Store and commit; the batch's messages are acknowledged when this returns."""
        result = (store or self.store)(batch)
        if self.after_commit is not None and result.vehicle_ids:
            with self._after_commit_lock:
                self.after_commit(result.vehicle_ids)
        with self._stats_lock:
            self.stats.messages += len(batch)
            self.stats.batches += 1
            self.stats.readings += result.readings
            self.stats.stored += result.stored
            self.stats.duplicates += result.duplicates
            self.stats.rejected += result.rejected
        return result


async def let_acknowledgements_out() -> None:
    """A committed batch's messages wake, return, and only then is each PUBACK written: a few turns
    of the loop, which must pass before the connection closes."""
    for _ in range(3):
        await asyncio.sleep(0)


def _quiet_about_unacknowledged(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """Messages still waiting when the worker stops are cancelled without an acknowledgement, on
    purpose: the broker delivers them again. That is not worth a traceback."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)
