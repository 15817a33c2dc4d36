"""Publishing commands to cars over MQTT (QoS 1): the outbox sender's transport for ``mqtt`` rows.

A command counts as handed over once the broker has answered its PUBACK; the broker then keeps it
for the car's persistent session. The connection is opened at the first publish and kept for the
sender's round, so a batch of commands costs one connection.
"""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from forecourt.telematics.listeners.mqtt import BrokerAddress

PUBLISH_TIMEOUT_SECONDS = 5.0


class PublishFailed(OSError):
    """The broker could not be reached or did not acknowledge in time."""


class CommandPublisher:
    def __init__(self, url: str, *, client_id: str | None = None, timeout: float = PUBLISH_TIMEOUT_SECONDS):
        self.broker = BrokerAddress.parse(url)
        self.client_id = client_id or ""
        self.timeout = timeout
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()

    def _connected(self) -> mqtt.Client:
        if self._client is not None and self._client.is_connected():
            return self._client
        self.close()
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=mqtt.MQTTv5)
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        ready = threading.Event()
        client.on_connect = lambda *_args: ready.set()
        try:
            client.connect(self.broker.host, self.broker.port, keepalive=30)
        except OSError as error:
            raise PublishFailed(f"the broker at {self.broker.host}:{self.broker.port} cannot be reached: {error}")
        client.loop_start()
        if not ready.wait(self.timeout):
            client.loop_stop()
            raise PublishFailed(f"the broker at {self.broker.host}:{self.broker.port} did not answer")
        self._client = client
        return client

    def publish(self, topic: str, payload: bytes, *, expires_in: int | None = None) -> None:
        """Returns once the broker acknowledged (PUBACK); raises ``PublishFailed`` otherwise.

        ``expires_in`` (seconds) becomes the MQTT 5 message expiry: a car that was offline never
        receives a command whose time has passed, whatever its own clock says."""
        properties = None
        if expires_in is not None:
            properties = Properties(PacketTypes.PUBLISH)
            properties.MessageExpiryInterval = max(1, int(expires_in))
        with self._lock:
            client = self._connected()
            info = client.publish(topic, payload, qos=1, properties=properties)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise PublishFailed(f"publish to {topic} failed (rc {info.rc})")
            try:
                info.wait_for_publish(self.timeout)
            except (RuntimeError, ValueError) as error:
                raise PublishFailed(f"publish to {topic} failed: {error}")
            if not info.is_published():
                raise PublishFailed(f"the broker did not acknowledge {topic} within {self.timeout:g} s")

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()
            finally:
                self._client.loop_stop()
                self._client = None
