"""The OsmAnd protocol as the open-source Traccar Client app sends it, from a driver's phone.

Two forms reach us. The classic one is an HTTP GET or form POST, one position per request::

    ?id=123456&timestamp=1718000000&lat=48.15&lon=16.37&speed=12.5&bearing=90&altitude=190
     &accuracy=5&batt=78&charge=true&alarm=sos

where ``speed`` is in knots (the app multiplies Android's m/s by 1.943844). The JSON form (Traccar
Client 9+, built on Transistorsoft background geolocation) posts ``{"location": {...}, "device_id":
...}``, where ``coords.speed`` is in m/s and ``-1`` marks speed or heading as unknown — Traccar's
server reads it that way too. Both become ``Vehicle.Speed`` in km/h.

The phone's own battery level, charging state and motion (``batt``, ``charge``, ``motion``;
``battery.level``, ``battery.is_charging``, ``is_moving`` in JSON) describe the phone, not the car: they
become the reading's ``status`` (kept on the device row) and never a signal of the car. The app also
sends reports with no position at all, only that status (or cell towers and Wi-Fi networks, which
Forecourt does not geolocate): those are kept as status, never as positions. A report without a
``timestamp`` is taken at the time it is received, as Traccar's server does. ``driverUniqueId``,
``hdop``, ``mock``, ``cell``, ``wifi`` and other extra parameters are tolerated and ignored.

Phones report "unknown" in-band, and those values are dropped rather than stored: a negative speed
or course (iOS, Transistorsoft), an accuracy of 0 (Traccar Client on Android's GPS provider), and
latitude and longitude both 0 (no fix, as Traccar's server reads it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from forecourt.core.clock import now
from forecourt.telematics.decoders.primitives import (
    canonical_json,
    clip,
    decode_each,
    device_id,
    load_json,
    message_key,
    parse_decimal,
    parse_timestamp,
)
from forecourt.telematics.readings import DecodeError, Reading, Source, VehicleEvent
from forecourt.telematics.vss import check

KNOTS_TO_KMH = 1.852
METRES_PER_SECOND_TO_KMH = 3.6
MAX_PARAMETERS = 100
MAX_VALUE_CHARS = 1024
MAX_BODY_BYTES = 256 * 1024
MAX_LOCATIONS = 1000

LATITUDE = "Vehicle.CurrentLocation.Latitude"
LONGITUDE = "Vehicle.CurrentLocation.Longitude"
ALTITUDE = "Vehicle.CurrentLocation.Altitude"
HEADING = "Vehicle.CurrentLocation.Heading"
ACCURACY = "Vehicle.CurrentLocation.HorizontalAccuracy"
SPEED = "Vehicle.Speed"
IS_MOVING = "Vehicle.IsMoving"
TRAVELED_DISTANCE = "Vehicle.TraveledDistance"

# Traccar's alarm names (Position.ALARM_*), which OsmAnd senders reuse; others are ignored.
ALARMS = {
    "sos": VehicleEvent.SOS,
    "accident": VehicleEvent.CRASH,
    "tow": VehicleEvent.TOW,
    "powercut": VehicleEvent.POWER_CUT,
    "hardbraking": VehicleEvent.HARSH_BRAKING,
    "hardacceleration": VehicleEvent.HARSH_ACCELERATION,
    "hardcornering": VehicleEvent.HARSH_CORNERING,
}


def decode_query(params: Mapping[str, str]) -> Reading:
    """One reading from the query string or form fields of a classic OsmAnd request."""
    fields = _fields(params)
    if "id" not in fields and "deviceid" not in fields:
        raise DecodeError("the request has no 'id' (or 'deviceid')")
    device = device_id(fields["id"] if "id" in fields else fields["deviceid"], field="id")
    measured_at = (parse_timestamp(fields["timestamp"], field="timestamp", space_separated_is_utc=True)
                   if "timestamp" in fields else now())
    signals: dict[str, object] = {}
    position = _query_position(fields)
    if position is not None and fields.get("valid", "true").lower() not in ("false", "0"):
        latitude, longitude = position
        _put(signals, LATITUDE, latitude, "lat")
        _put(signals, LONGITUDE, longitude, "lon")
        if "altitude" in fields:
            _put(signals, ALTITUDE, _number(fields, "altitude"), "altitude")
        if "accuracy" in fields and (accuracy := _number(fields, "accuracy")) > 0:
            _put(signals, ACCURACY, accuracy, "accuracy")
        course_field = "bearing" if "bearing" in fields else "heading"
        if course_field in fields and (course := _number(fields, course_field)) >= 0:
            _put(signals, HEADING, course, course_field)
    if "speed" in fields and (knots := _number(fields, "speed")) >= 0:
        _put(signals, SPEED, knots * KNOTS_TO_KMH, "speed")
    events = _alarms(fields.get("alarm", ""))
    status = _query_status(fields)
    return _reading(device, measured_at, signals, events, "request", status)


def decode_json(body: bytes | str) -> list[Reading]:
    """Readings from a JSON post: one location, ``{"location": [...]}``, or an array of such objects."""
    document = load_json(body, what="OsmAnd JSON body", max_bytes=MAX_BODY_BYTES)
    roots = document if isinstance(document, list) else [document]
    if not roots:
        raise DecodeError("the body holds no locations")
    located: list[tuple[str, object]] = []
    for index, root in enumerate(roots):
        where = f"item {index}: " if isinstance(document, list) else ""
        if not isinstance(root, dict):
            raise DecodeError(f"{where}expected an object with 'location' and 'device_id'")
        if "location" not in root:
            raise DecodeError(f"{where}the object has no 'location'")
        if "device_id" not in root:
            raise DecodeError(f"{where}the object has no 'device_id'")
        try:
            device = device_id(root["device_id"], field="device_id")
        except DecodeError as error:
            raise DecodeError(f"{where}{error}") from None
        locations = root["location"] if isinstance(root["location"], list) else [root["location"]]
        located.extend((device, location) for location in locations)
        if len(located) > MAX_LOCATIONS:
            raise DecodeError(f"the body holds more than {MAX_LOCATIONS} locations")
    if not located:
        raise DecodeError("the body holds no locations")
    return decode_each(located, lambda pair: _json_reading(*pair), noun="location")


# --- the query form ---------------------------------------------------------------------------------

def _fields(params: object) -> dict[str, str]:
    if not isinstance(params, Mapping):
        raise DecodeError(f"OsmAnd parameters must be a mapping, got {type(params).__name__}")
    if len(params) > MAX_PARAMETERS:
        raise DecodeError(f"the request has {len(params)} parameters; the limit is {MAX_PARAMETERS}")
    fields: dict[str, str] = {}
    for name, value in params.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise DecodeError(f"parameter {clip(repr(name), 60)} must have a text name and value")
        if len(value) > MAX_VALUE_CHARS:
            raise DecodeError(f"parameter '{clip(name, 60)}' is longer than {MAX_VALUE_CHARS} characters")
        if value != "":  # as Traccar does: an empty parameter is an absent one
            fields[name] = value
    return fields


def _query_position(fields: dict[str, str]) -> tuple[float, float] | None:
    if "lat" in fields or "lon" in fields:
        if "lat" not in fields or "lon" not in fields:
            raise DecodeError("'lat' and 'lon' come together; the request has only one of them")
        latitude, longitude = _number(fields, "lat"), _number(fields, "lon")
    elif "location" in fields:
        parts = fields["location"].split(",")
        if len(parts) != 2:
            raise DecodeError("'location' must be 'latitude,longitude'")
        latitude = parse_decimal(parts[0], field="location latitude")
        longitude = parse_decimal(parts[1], field="location longitude")
    else:
        return None
    if latitude == 0 and longitude == 0:  # what a phone without a fix reports, as Traccar treats it
        return None
    return latitude, longitude


def _number(fields: dict[str, str], name: str) -> float:
    return parse_decimal(fields[name], field=name)


def _query_status(fields: dict[str, str]) -> dict[str, object]:
    status: dict[str, object] = {}
    if "batt" in fields:
        _put_battery(status, _number(fields, "batt"), "batt")
    for name, key in (("charge", "charging"), ("motion", "motion")):
        if name in fields:
            status[key] = _flag(fields[name], name)
    return status


def _flag(text: str, field: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise DecodeError(f"{field}: '{clip(text, 20)}' is neither true nor false")


def _put_battery(status: dict[str, object], percent: float, field: str) -> None:
    if percent == -1:  # what a phone that cannot read its battery reports
        return
    if not 0 <= percent <= 100:
        raise DecodeError(f"{field}: {percent} is not a battery level (0 to 100 %)")
    status["battery_percent"] = round(percent, 1)


def _alarms(text: str) -> tuple[VehicleEvent, ...]:
    events: list[VehicleEvent] = []
    for name in text.split(","):
        event = ALARMS.get(name.strip().lower())
        if event is not None and event not in events:
            events.append(event)
    return tuple(events)


# --- the JSON form ----------------------------------------------------------------------------------

def _json_reading(device: str, location: object) -> Reading:
    if not isinstance(location, dict):
        raise DecodeError("a location must be a JSON object")
    measured_at = parse_timestamp(location["timestamp"], field="timestamp") if "timestamp" in location else now()
    signals: dict[str, object] = {}
    coords = location.get("coords")
    if coords is not None:
        if not isinstance(coords, dict):
            raise DecodeError("'coords' must be an object")
        _json_coords(coords, signals)
    if "is_moving" in location:
        if not isinstance(location["is_moving"], bool):
            raise DecodeError("'is_moving' must be true or false")
        signals[IS_MOVING] = location["is_moving"]
    if "odometer" in location:
        metres = _json_number(location, "odometer")
        _put(signals, TRAVELED_DISTANCE, round(metres), "odometer")
    events = _alarms(_json_alarm(location))
    status = _json_status(location)
    return _reading(device, measured_at, signals, events, "location", status)


def _json_coords(coords: dict[str, object], signals: dict[str, object]) -> None:
    for name in ("latitude", "longitude"):
        if name not in coords:
            raise DecodeError(f"'coords' has no '{name}'")
    latitude = _json_number(coords, "latitude", "coords.")
    longitude = _json_number(coords, "longitude", "coords.")
    if latitude == 0 and longitude == 0:
        return
    _put(signals, LATITUDE, latitude, "coords.latitude")
    _put(signals, LONGITUDE, longitude, "coords.longitude")
    if "altitude" in coords:
        _put(signals, ALTITUDE, _json_number(coords, "altitude", "coords."), "coords.altitude")
    if "accuracy" in coords and (accuracy := _json_number(coords, "accuracy", "coords.")) > 0:
        _put(signals, ACCURACY, accuracy, "coords.accuracy")
    if "heading" in coords and (heading := _json_number(coords, "heading", "coords.")) >= 0:
        _put(signals, HEADING, heading, "coords.heading")
    if "speed" in coords and (speed := _json_number(coords, "speed", "coords.")) >= 0:
        _put(signals, SPEED, speed * METRES_PER_SECOND_TO_KMH, "coords.speed")


def _json_status(location: dict[str, object]) -> dict[str, object]:
    """Transistorsoft's ``battery: {level: 0.0-1.0, is_charging}`` (``-1``: unknown) and ``is_moving``."""
    status: dict[str, object] = {}
    battery = location.get("battery")
    if battery is not None:
        if not isinstance(battery, dict):
            raise DecodeError("'battery' must be an object")
        if "level" in battery:
            level = _json_number(battery, "level", "battery.")
            _put_battery(status, -1 if level == -1 else level * 100, "battery.level")
        if "is_charging" in battery:
            if not isinstance(battery["is_charging"], bool):
                raise DecodeError("'battery.is_charging' must be true or false")
            status["charging"] = battery["is_charging"]
    if isinstance(location.get("is_moving"), bool):
        status["motion"] = location["is_moving"]
    return status


def _json_number(container: dict[str, object], name: str, prefix: str = "") -> float:
    value = container[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DecodeError(f"'{prefix}{name}' must be a number")
    if isinstance(value, int) and abs(value) > 2**64:
        raise DecodeError(f"'{prefix}{name}' is out of range")
    return float(value)


def _json_alarm(location: dict[str, object]) -> str:
    """Traccar's rule: ``location.alarm`` first, else ``extras.alarm``."""
    extras = location.get("extras")
    alarm = location.get("alarm", extras.get("alarm", "") if isinstance(extras, dict) else "")
    return alarm if isinstance(alarm, str) else ""


# --- shared -----------------------------------------------------------------------------------------

def _put(signals: dict[str, object], path: str, value: object, field: str) -> None:
    try:
        signals[path] = check(path, value)
    except DecodeError as error:
        raise DecodeError(f"{field}: {error}") from None


def _reading(device: str, measured_at: datetime, signals: dict[str, object],
             events: tuple[VehicleEvent, ...], what: str, status: dict[str, object]) -> Reading:
    if not signals and not events and not status:
        raise DecodeError(f"the {what} carries no position, speed, motion, alarm or battery status")
    content = {"at": measured_at.isoformat(), "signals": signals, "events": [str(event) for event in events],
               "status": status}
    return Reading(
        source=Source.PHONE,
        device_id=device,
        measured_at=measured_at,
        signals=signals,
        events=events,
        message_key=message_key(Source.PHONE.value, device, canonical_json(content), at=measured_at),
        status=status,
    )
