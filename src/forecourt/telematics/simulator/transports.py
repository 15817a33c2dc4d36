"""How simulated devices reach the platform: MQTT, HTTP, OsmAnd and Teltonika TCP.

Each sender's ``send`` returns True when the platform took the message and False when it refused
it or could not be reached; it never raises, because one refused message must not stop a fleet.
Senders are used from several threads, each thread owning a disjoint set of cars, so per-car
state (a tracker's TCP connection) needs no lock and per-thread state (an HTTP connection) lives
in a thread-local.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from abc import ABC, abstractmethod
from urllib.parse import urlencode, urlparse

from forecourt.telematics.decoders import codec12
from forecourt.telematics.decoders.teltonika import IMEI_ACCEPT
from forecourt.telematics.readings import DecodeError
from forecourt.telematics.simulator import codec8, formats
from forecourt.telematics.simulator.drive import Snapshot
from forecourt.telematics.simulator.fleet import SimVehicle
from forecourt.telematics.simulator.locks import LOCKED_PATH

log = logging.getLogger(__name__)
TIMEOUT_S = 10.0


class Sender(ABC):
    """One way of reporting: each transport says whether the message was delivered."""

    last_error: str = ""
    locks = None  # ``locks.DoorLocks`` of cars that take commands: their lock state goes into the telemetry

    def sample(self, vehicle: SimVehicle, snapshot: Snapshot, sequence: int) -> dict:
        sample = formats.vss_sample(snapshot, message_id=sequence)
        locked = self.locks.is_locked(vehicle.vin) if self.locks is not None else None
        if locked is not None:
            sample[LOCKED_PATH] = locked
        return sample

    @abstractmethod
    def send(self, vehicle: SimVehicle, snapshot: Snapshot, sequence: int) -> bool: ...

    def close(self) -> int:
        """Release connections; returns messages that turned out not to be delivered."""
        return 0


class _HttpBase(Sender):
    ATTEMPTS = 4
    def __init__(self, server: str):
        parsed = urlparse(server)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.local = threading.local()

    def _request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> bool:
        """As a device does: a refusal (4xx) is final, a server error or lost connection is retried
        with back-off — the message keys make a repeated message harmless."""
        for attempt in range(self.ATTEMPTS):
            if attempt:
                time.sleep(0.05 * 2 ** attempt)
            connection = getattr(self.local, "connection", None)
            if connection is None:
                connection = self.local.connection = http.client.HTTPConnection(self.host, self.port,
                                                                                timeout=TIMEOUT_S)
            try:
                connection.request(method, path, body=body, headers=headers or {})
                response = connection.getresponse()
                text = response.read()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                self.local.connection = None
                self.last_error = f"{type(error).__name__}: {error}"
                continue
            if 200 <= response.status < 300:
                return True
            self.last_error = f"HTTP {response.status}: {text[:200].decode(errors='replace')}"
            if response.status < 500:
                return False
        return False


class HttpSender(_HttpBase):
    """An embedded car without MQTT: POST /api/telemetry/{VIN} with its secret as bearer token."""

    def send(self, vehicle: SimVehicle, snapshot: Snapshot, sequence: int) -> bool:
        body = json.dumps(self.sample(vehicle, snapshot, sequence)).encode()
        return self._request("POST", f"/api/telemetry/{vehicle.vin}", body,
                             {"Authorization": f"Bearer {vehicle.secret}", "Content-Type": "application/json"})


class OsmandSender(_HttpBase):
    """The driver's phone with Traccar Client: one GET /osmand/<token>?... per position (the app keeps
    the path of the server URL it was given at pairing and appends its query)."""

    def send(self, vehicle: SimVehicle, snapshot: Snapshot, sequence: int) -> bool:
        query = urlencode(formats.osmand_query(snapshot, vehicle.device_id))
        return self._request("GET", f"/osmand/{vehicle.secret}?{query}")


class MqttSender(Sender):
    """The embedded unit: QoS 1 to ``vehicles/{VIN}/telemetry``; delivered means PUBACK received."""

    def __init__(self, url: str, client_id: str):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from forecourt.telematics.listeners.mqtt import BrokerAddress

        broker = BrokerAddress.parse(url)
        self.pending: set[int] = set()
        self.early: set[int] = set()
        self.lock = threading.Lock()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        if broker.username:
            self.client.username_pw_set(broker.username, broker.password)
        self.client.max_inflight_messages_set(1000)
        self.client.on_publish = self._on_publish
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()

    def _on_publish(self, _client, _userdata, mid, _reason, _properties) -> None:
        with self.lock:
            if mid in self.pending:
                self.pending.discard(mid)
            else:
                self.early.add(mid)  # acknowledged before ``send`` noted it

    def send(self, vehicle: SimVehicle, snapshot: Snapshot, sequence: int) -> bool:
        payload = json.dumps(self.sample(vehicle, snapshot, sequence))
        # Published outside our lock: paho calls ``_on_publish`` holding its own locks, so publishing
        # under ours deadlocked the sender as soon as a PUBACK arrived while a publish waited.
        info = self.client.publish(f"vehicles/{vehicle.vin}/telemetry", payload, qos=1)
        if info.rc != 0:
            self.last_error = f"publish failed (rc {info.rc})"
            return False
        with self.lock:
            if info.mid in self.early:
                self.early.discard(info.mid)
            else:
                self.pending.add(info.mid)
        return True

    def close(self) -> int:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending:
                    break
            time.sleep(0.05)
        with self.lock:
            undelivered = len(self.pending)
        self.client.loop_stop()
        self.client.disconnect()
        return undelivered


class TeltonikaSender(Sender):
    """An FMB tracker per car: its own TCP session, IMEI handshake, one frame per report, and the
    record-count ACK awaited; a missing or short ACK means the frame is sent again."""

    RESENDS = 3

    def __init__(self, address: str):
        host, _, port = address.rpartition(":")
        self.address = (host or "127.0.0.1", int(port))
        self.sockets: dict[str, socket.socket] = {}

    def _connect(self, imei: str) -> socket.socket | None:
        sock = socket.create_connection(self.address, timeout=TIMEOUT_S)
        sock.sendall(codec8.hello(imei))
        if _read_exactly(sock, 1) != IMEI_ACCEPT:
            sock.close()
            self.last_error = f"IMEI {imei} refused"
            return None
        self.sockets[imei] = sock
        return sock

    def send(self, vehicle: SimVehicle, snapshot: Snapshot, sequence: int) -> bool:
        frame = codec8.encode_frame([formats.avl_record(snapshot)])
        for attempt in range(self.RESENDS + 1):
            if attempt:
                time.sleep(0.1 * 2 ** attempt)  # as a tracker does before it reconnects and resends
            try:
                sock = self.sockets.get(vehicle.device_id) or self._connect(vehicle.device_id)
                if sock is None:
                    return False
                sock.sendall(frame)
                answer = self._ack(sock, vehicle.vin)
                if int.from_bytes(answer, "big") == 1:
                    return True
                self.last_error = f"ACK {answer.hex()} for 1 record"
            except OSError as error:
                self.last_error = f"{type(error).__name__}: {error}"
                self._drop(vehicle.device_id)
        return False

    def _ack(self, sock: socket.socket, vin: str) -> bytes:
        """The record-count ACK. A Codec 12 command that arrives before it (the server sends them
        whenever it has one) is run and answered first, as a tracker reading its socket as a stream
        does: it starts with four zero bytes, which no ACK of the records the simulator sends has."""
        while True:
            head = _read_exactly(sock, 4)
            if head != b"\0\0\0\0":
                return head
            size = _read_exactly(sock, 4)
            frame = head + size + _read_exactly(sock, int.from_bytes(size, "big") + 4)
            try:
                command = codec12.decode(frame)
            except DecodeError as error:
                self.last_error = f"unreadable command: {error}"
                continue
            reply = self.locks.tracker_reply(vin, command.text) if self.locks is not None else None
            if reply is not None:
                sock.sendall(codec12.encode(reply, codec12.RESPONSE))

    def _drop(self, imei: str) -> None:
        sock = self.sockets.pop(imei, None)
        if sock is not None:
            sock.close()

    def close(self) -> int:
        for imei in list(self.sockets):
            self._drop(imei)
        return 0


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


def make_sender(via: str, *, server: str, mqtt: str, teltonika: str, client_id: str) -> Sender:
    if via == "http":
        return HttpSender(server)
    if via == "osmand":
        return OsmandSender(server)
    if via == "mqtt":
        return MqttSender(mqtt, client_id)
    if via == "teltonika":
        return TeltonikaSender(teltonika)
    raise ValueError(f"unknown transport {via!r}: use mqtt, http, osmand or teltonika")
