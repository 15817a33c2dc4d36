"""Cars' answers to commands, for a server that runs without ``forecourt ingest``.

``forecourt ingest`` takes the answers on ``vehicles/+/commands/ack`` with the telemetry (a topic
handler of its store). ``forecourt serve --simulate`` has no ingest worker: its simulated cars report
over HTTP and answer commands over MQTT, so the server listens for the answers itself with this
small client. Each answer is recorded in a transaction of its own before its PUBACK (paho
acknowledges a QoS 1 message when the callback returns), and recording is idempotent, so a
redelivered answer changes nothing.
"""

from __future__ import annotations

import logging
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import Session, sessionmaker

from forecourt.core.db import transaction
from forecourt.telematics import commands
from forecourt.telematics.listeners.mqtt import BrokerAddress

log = logging.getLogger(__name__)


class AnswerListener:
    def __init__(self, url: str, sessions: sessionmaker[Session], *, client_id: str = ""):
        self.sessions = sessions
        self.broker = BrokerAddress.parse(url)
        self.subscribed = threading.Event()
        self.recorded = 0
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        if self.broker.username:
            self.client.username_pw_set(self.broker.username, self.broker.password)
        self.client.on_connect = lambda client, *_: client.subscribe(commands.ACK_TOPIC, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message

    def start(self) -> AnswerListener:
        """Raises ``OSError`` when the broker cannot be reached."""
        self.client.connect(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()
        return self

    def _on_message(self, _client, _userdata, message) -> None:
        try:
            with transaction(self.sessions, write=True) as session:
                outcome = commands.from_mqtt(session=session, topic=message.topic, payload=message.payload)
            self.recorded += outcome in ("recorded", "late")
        except Exception:  # a database hiccup must not stop the listener; the car's command times out
            log.exception("the answer on %s could not be recorded", message.topic)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
