"""VSS JSON from embedded cars: MQTT topic ``vehicles/{VIN}/telemetry`` and the HTTP batch endpoint.

The car already speaks VSS, so this decoder translates nothing; its job is to refuse what the rest
of the platform must not see. A message is one flat sample, ``{"samples": [...]}`` or a JSON array
of samples. Each sample has a ``timestamp``, optional ``events`` (``VehicleEvent`` values) and an
optional ``id`` (the car's message id); every other key is a VSS path checked against the catalogue.

A message is accepted or refused as a whole, because MQTT acknowledges whole messages: accepting
half a batch would leave the car unsure what to resend.
"""

from __future__ import annotations

from datetime import datetime

from forecourt.telematics.decoders.primitives import (
    canonical_json,
    clip,
    decode_each,
    load_json,
    message_key,
    parse_timestamp,
)
from forecourt.telematics.readings import DecodeError, Reading, Source, VehicleEvent
from forecourt.telematics.vss import check

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_SAMPLES = 1000
MAX_ID_CHARS = 128
TOPIC_PREFIX = "vehicles"
TOPIC_SUFFIX = "telemetry"

_VIN_ALPHABET = frozenset("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")
_RESERVED_KEYS = ("timestamp", "events", "id")
_EVENT_NAMES = ", ".join(event.value for event in VehicleEvent)


def topic_vin(topic: str) -> str:
    """The VIN in ``vehicles/{VIN}/telemetry``, upper-cased.

    Only its shape is checked (17 characters, no I, O or Q); the check digit is the pipeline's
    business, where a mismatch can be reported against the registered vehicle.
    """
    if not isinstance(topic, str):
        raise DecodeError(f"an MQTT topic must be text, got {type(topic).__name__}")
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != TOPIC_PREFIX or parts[2] != TOPIC_SUFFIX:
        raise DecodeError(f"topic '{clip(topic, 120)}' is not {TOPIC_PREFIX}/{{VIN}}/{TOPIC_SUFFIX}")
    return _vin(parts[1])


def decode(vin: str, payload: bytes | str) -> list[Reading]:
    """One ``Reading`` per sample, in the order sent, with source ``EMBEDDED`` and the VIN as device id."""
    device = _vin(vin)
    document = load_json(payload, what="telemetry payload", max_bytes=MAX_PAYLOAD_BYTES)
    samples = _samples(document)
    return decode_each(samples, lambda sample: _reading(device, sample), noun="sample")


def _vin(value: object) -> str:
    if not isinstance(value, str):
        raise DecodeError(f"a VIN must be text, got {type(value).__name__}")
    vin = value.upper()
    if len(vin) != 17 or not _VIN_ALPHABET.issuperset(vin):
        raise DecodeError(f"'{clip(value, 40)}' is not a VIN: a VIN has 17 characters, digits and "
                          "letters other than I, O and Q")
    return vin


def _samples(document: object) -> list[dict[str, object]]:
    if isinstance(document, dict) and "samples" in document:
        if len(document) != 1:
            extra = sorted(key for key in document if key != "samples")
            raise DecodeError(f"a batch object holds only 'samples'; it also has "
                              f"{', '.join(repr(clip(key, 60)) for key in extra[:5])}")
        samples = document["samples"]
        if not isinstance(samples, list):
            raise DecodeError(f"'samples' must be an array, got {_json_type(samples)}")
    elif isinstance(document, dict):
        samples = [document]
    elif isinstance(document, list):
        samples = document
    else:
        raise DecodeError(f"a telemetry payload is a JSON object or array, got {_json_type(document)}")
    if not samples:
        raise DecodeError("the payload holds no samples")
    if len(samples) > MAX_SAMPLES:
        raise DecodeError(f"the payload holds {len(samples)} samples; the limit is {MAX_SAMPLES}")
    for index, sample in enumerate(samples):
        if not isinstance(sample, dict):
            raise DecodeError(f"sample {index} must be a JSON object, got {_json_type(sample)}")
    return samples


def _reading(vin: str, sample: dict[str, object]) -> Reading:
    if "timestamp" not in sample:
        raise DecodeError("the sample has no 'timestamp'")
    measured_at = parse_timestamp(sample["timestamp"], field="timestamp")
    events = _events(sample.get("events", []))
    message_id = _message_id(sample["id"]) if "id" in sample else None
    signals = {path: check(path, value) for path, value in sample.items() if path not in _RESERVED_KEYS}
    if not signals and not events:
        raise DecodeError("the sample has neither signals nor events")
    return Reading(
        source=Source.EMBEDDED,
        device_id=vin,
        measured_at=measured_at,
        signals=signals,
        events=events,
        message_key=_key(vin, measured_at, signals, events, message_id),
    )


def _events(value: object) -> tuple[VehicleEvent, ...]:
    if not isinstance(value, list):
        raise DecodeError(f"'events' must be an array of event names, got {_json_type(value)}")
    events: list[VehicleEvent] = []
    for name in value:
        if not isinstance(name, str):
            raise DecodeError(f"'events' holds {_json_type(name)}; event names are strings")
        try:
            event = VehicleEvent(name)
        except ValueError:
            raise DecodeError(f"unknown event '{clip(name, 60)}'; known events: {_EVENT_NAMES}") from None
        if event not in events:
            events.append(event)
    return tuple(events)


def _message_id(value: object) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS:
        return value
    raise DecodeError(f"'id' must be a string of 1 to {MAX_ID_CHARS} characters or an integer")


def _key(vin: str, measured_at: datetime, signals: dict[str, object], events: tuple[VehicleEvent, ...],
         message_id: str | int | None) -> str:
    """Derived from what was decoded, so a redelivered message (same content) gets the same key."""
    content = {"at": measured_at.isoformat(), "signals": signals, "events": [str(event) for event in events],
               "id": message_id}
    return message_key(Source.EMBEDDED.value, vin, canonical_json(content), at=measured_at)


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
