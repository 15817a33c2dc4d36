"""The simulated cars' central locking: they take commands over MQTT, answer them, and report the
lock state in their telemetry.

Each simulated car with its own connected unit listens on ``vehicles/{VIN}/commands`` (one client
for the fleet, subscribed with a wildcard, answering only for its own cars) and answers on
``vehicles/{VIN}/commands/ack`` as a real car would: ``ok`` for an unlock, a lock or a status
request, ``refused`` for a command it does not know or one whose ``expires_at`` has passed. With
``ignore=True`` the cars stay silent, which is how the platform's timeouts are tested.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from forecourt.telematics.listeners.mqtt import BrokerAddress

log = logging.getLogger(__name__)

LOCKED_PATH = "Vehicle.Cabin.Door.Row1.DriverSide.IsLocked"  # VSS 6.0: True = locked
COMMANDS = "vehicles/+/commands"


class DoorLocks:
    """What each car's doors are doing, and the answer a car gives to a command (no network here)."""

    def __init__(self, vins, *, ignore: bool = False):
        self.locked: dict[str, bool] = {vin: True for vin in vins}  # parked cars are locked
        self.ignore = ignore
        self.answered = 0
        self._lock = threading.Lock()

    def is_locked(self, vin: str) -> bool | None:
        with self._lock:
            return self.locked.get(vin)

    def answer(self, vin: str, payload: bytes, now: datetime | None = None) -> dict | None:
        """The car's answer to a command, or None (not our car, unreadable, or told to stay silent)."""
        if vin not in self.locked or self.ignore:
            return None
        try:
            command = json.loads(payload)
            command_id, action = command["id"], command["action"]
            expires = datetime.fromisoformat(command["expires_at"])
        except (ValueError, KeyError, TypeError):
            log.warning("simulated car %s could not read a command: %r", vin, payload[:200])
            return None
        if (now or datetime.now(UTC)) > expires:
            return {"id": command_id, "result": "refused", "reason": "expired"}
        with self._lock:
            if action in ("unlock", "lock"):
                self.locked[vin] = action == "lock"
            elif action != "status":
                return {"id": command_id, "result": "refused", "reason": f"unknown command {action}"}
            self.answered += 1
            return {"id": command_id, "result": "ok"}


    # The Codec 12 texts ``telematics.commands`` sends trackers, and what an FMB answers to each.
    TRACKER = {"setdigout 1? 2": ("unlock", "DOUT1:1 Timeout:2 DOUT2:IGNORED"),
               "setdigout ?1 0 2": ("lock", "DOUT1:IGNORED DOUT2:1 Timeout:2"),
               "getstatus": ("status", "Data Link: 1 GPRS: 1 Phone: 0 SIM: 0 OP: 26201 Signal: 5 NewSMS: 0 "
                                       "Roaming: 0 SMSFull: 0 LAC: 1 Cell ID: 3055 NetType: 1 FwUpd:-1")}

    def tracker_reply(self, vin: str, text: str) -> str | None:
        """A tracker's Codec 12 reply to ``text``, or None (told to stay silent)."""
        if vin not in self.locked or self.ignore:
            return None
        action, reply = self.TRACKER.get(text.strip(), (None, f"Unknown command: {text.strip()[:40]}"))
        with self._lock:
            if action in ("unlock", "lock"):
                self.locked[vin] = action == "lock"
            if action is not None:
                self.answered += 1
        return reply


class CommandResponder:
    """The fleet's MQTT side for commands: subscribes, answers, keeps ``DoorLocks``."""

    def __init__(self, url: str, vins, *, ignore: bool = False, client_id: str = ""):
        self.locks = DoorLocks(vins, ignore=ignore)
        broker = BrokerAddress.parse(url)
        self.subscribed = threading.Event()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        if broker.username:
            self.client.username_pw_set(broker.username, broker.password)
        self.client.on_connect = lambda client, *_: client.subscribe(COMMANDS, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()

    def _on_message(self, client, _userdata, message) -> None:
        parts = message.topic.split("/")
        if len(parts) != 3:
            return
        answer = self.locks.answer(parts[1], message.payload)
        if answer is not None:
            client.publish(f"vehicles/{parts[1]}/commands/ack", json.dumps(answer), qos=1)

    def wait_ready(self, timeout: float = 10) -> bool:
        return self.subscribed.wait(timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
