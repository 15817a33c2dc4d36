"""The one normalised shape every decoder produces and the ingest pipeline consumes.

Whatever spoke — an embedded car over MQTT, a phone app over the OsmAnd protocol, a Teltonika
tracker over TCP — what reaches the pipeline is a list of ``Reading``: who sent it, when it was
measured, and COVESA VSS signals with VSS units. Events that VSS has no signal for (SOS, crash,
tow, power cut, harsh driving) travel as ``events``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Source(StrEnum):
    EMBEDDED = "embedded"  # VSS JSON over MQTT or the HTTP batch endpoint; device id is the VIN
    PHONE = "phone"  # OsmAnd protocol (Traccar Client); device id is the phone's id
    TRACKER = "tracker"  # Teltonika Codec 8 / 8E over TCP; device id is the IMEI


class VehicleEvent(StrEnum):
    SOS = "sos"
    CRASH = "crash"
    TOW = "tow"
    POWER_CUT = "power_cut"
    HARSH_BRAKING = "harsh_braking"
    HARSH_ACCELERATION = "harsh_acceleration"
    HARSH_CORNERING = "harsh_cornering"
    IGNITION_ON = "ignition_on"
    IGNITION_OFF = "ignition_off"


class DecodeError(ValueError):
    """Input a decoder cannot read. The message says what is wrong, for the rejection log."""


@dataclass(frozen=True)
class Reading:
    source: Source
    device_id: str  # VIN, phone id or IMEI, as the device identified itself
    measured_at: datetime  # timezone-aware UTC
    signals: dict[str, object] = field(default_factory=dict)  # VSS path -> value in VSS units
    events: tuple[VehicleEvent, ...] = ()
    # Identifies this reading across redeliveries (same bytes -> same key), for exactly-once storage.
    message_key: str = ""
    # The device's own state, not the car's (a phone's battery, charging), kept on the device row.
    status: dict[str, object] = field(default_factory=dict)
    # What was wrong with a reading that was kept anyway (an SOS whose clock was off): said on the case.
    problems: tuple[str, ...] = ()
