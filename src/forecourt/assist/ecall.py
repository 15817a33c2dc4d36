"""eCall in: a car's crash or SOS call with its minimum set of data (MSD) becomes an On Call case.

Three forms reach us, over HTTP (``POST /api/assist/ecall/{vin}``) and over MQTT
(``vehicles/{VIN}/ecall``): the MSD itself, ASN.1 unaligned PER as EN 15722 defines it and RFC 8147
carries it (``application/EmergencyCallData.eCall.MSD``); the same bytes in base64 as
``{"msd": "..."}``; and Forecourt's own JSON with the MSD's fields by name. Bytes that do not start
like JSON are read as an MSD whatever they are labelled, since a car that gets its content type
wrong still crashed.

The fail-safe of ``intake`` holds here too: the sending car is known (its secret or the broker
vouched for it), so whatever arrives opens a case for that car. What cannot be read is kept (the
bytes, in hex) and named as a problem on the case; the agent then calls the car and its owner.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math

from sqlalchemy.orm import Session

from forecourt.assist.intake import raise_alert, shown
from forecourt.assist.models import Case
from forecourt.core.errors import Invalid
from forecourt.core.i18n import _
from forecourt.telematics import service as telematics_service
from forecourt.telematics.decoders import ecall_msd
from forecourt.telematics.readings import DecodeError

log = logging.getLogger(__name__)

ECALL_TOPIC = "vehicles/+/ecall"
MEDIA_TYPE = ecall_msd.MEDIA_TYPE
MAX_RECENT = 2  # the MSD's N1 and N2
MAX_NAMES = 8  # propulsion kinds an honest JSON message lists
_FLAG_WORDS = {1: True, 0: False, "1": True, "0": False, "true": True, "false": False, "yes": True, "no": False}


def receive(*, session: Session, vehicle_id: int, vin: str, body: bytes, media_type: str | None = None,
            cut: bool = False) -> Case:
    """Whatever a known car sent as its eCall, as a case. Never refuses; never commits.

    ``cut``: the body was longer than the web's limit and only its start arrived; it is still read."""
    declared_msd = (media_type or "").split(";")[0].strip().lower() == MEDIA_TYPE.lower()
    if declared_msd or not _looks_like_json(body):
        return from_msd(session=session, vehicle_id=vehicle_id, vin=vin, payload=body)
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as error:  # not JSON, not UTF-8, too deep, 5000-digit numbers
        reason = ("it is nested too deeply" if isinstance(error, RecursionError) else
                  "it was longer than the limit and was cut" if cut else "it is not valid JSON")
        return _unreadable(session, vehicle_id, body, f"the eCall message could not be read: {reason}")
    if not isinstance(message, dict):
        return _unreadable(session, vehicle_id, body, "the eCall message is JSON but not an object")
    if "msd" in message:
        return _from_base64(session, vehicle_id, vin, message["msd"], body)
    return from_fields(session=session, vehicle_id=vehicle_id, vin=vin, message=message)


def from_msd(*, session: Session, vehicle_id: int, vin: str, payload: bytes) -> Case:
    """The EN 15722 minimum set of data in its own encoding."""
    try:
        msd = ecall_msd.decode(payload)
    except DecodeError as error:
        return _unreadable(session, vehicle_id, payload, f"the MSD could not be decoded: {error}")
    problems = list(msd.problems)
    if msd.vin != vin.strip().upper():
        problems.append(f"the MSD names VIN {msd.vin}, not {shown(vin, 20)}: the sending car's VIN was used")
    return raise_alert(session=session, vehicle_id=vehicle_id, kind="crash" if msd.automatic_activation else "sos",
                       source="ecall", at=msd.timestamp, latitude=msd.latitude,
                       longitude=msd.longitude, heading=msd.direction, passengers=msd.passengers,
                       activation="automatic" if msd.automatic_activation else "manual", test_call=msd.test_call,
                       position_trusted=msd.position_can_be_trusted,
                       track=[{"at": None, "lat": lat, "lon": lon} for lat, lon in msd.recent_positions],
                       problems=problems, vehicle_data=msd.as_json())


def from_fields(*, session: Session, vehicle_id: int, vin: str, message: dict) -> Case:
    """Forecourt's JSON form: the MSD's fields by name. Each field that cannot be read is a problem."""
    problems: list[str] = []
    automatic = _flag(message, "automatic_activation", problems)
    manual = _flag(message, "manual_activation", problems)
    if automatic is None and manual is None:
        problems.append("activation unknown: treated as an automatic crash alert")
        automatic = True
    automatic = bool(automatic) if automatic is not None else not manual
    test_call = bool(_flag(message, "test_call", problems))
    trusted = _flag(message, "position_can_be_trusted", problems)
    named = message.get("vin")
    if named is not None and (not isinstance(named, str) or named.strip().upper() != vin.strip().upper()):
        problems.append(f"the message names VIN {shown(named, 20)}, not {shown(vin, 20)}: "
                        "the sending car's VIN was used")
    latitude, longitude = _point(message.get("position"), "position", problems)
    track = []
    recent = message.get("recent_positions")
    if recent is not None and not isinstance(recent, list):
        problems.append("recent_positions unreadable: not a list")
        recent = []
    for index, item in enumerate((recent or [])[:MAX_RECENT]):
        lat, lon = _point(item, f"recent position {index + 1}", [])
        if lat is None or lon is None:
            problems.append(f"recent position {index + 1} unreadable: skipped")
            continue
        track.append({"at": None, "lat": lat, "lon": lon})
    return raise_alert(session=session, vehicle_id=vehicle_id, kind="crash" if automatic else "sos",
                       source="ecall", at=_moment(message.get("timestamp")), latitude=latitude,
                       longitude=longitude, heading=message.get("direction"),
                       passengers=message.get("number_of_passengers"),
                       activation="automatic" if automatic else "manual", test_call=test_call,
                       position_trusted=trusted, track=track, problems=problems,
                       vehicle_data=_vehicle_data(message))


def from_mqtt(*, session: Session, topic: str, payload: bytes) -> Case:
    """``vehicles/{VIN}/ecall``: the broker vouches for the car, as for its telemetry, and the VIN
    must belong to a registered embedded unit (anything else is refused and recorded)."""
    parts = topic.split("/")
    vin = parts[1].strip().upper() if len(parts) == 3 else ""
    vehicle_id = telematics_service.vehicle_of_embedded_unit(session=session, vin=vin)
    if vehicle_id is None:
        log.warning("eCall on %s refused: no embedded unit registered for that VIN", topic[:80])
        raise Invalid(_("No embedded unit is registered for VIN '%(value)s'.", value=vin[:20]), field="vin")
    return receive(session=session, vehicle_id=vehicle_id, vin=vin, body=bytes(payload))


# --- helpers ----------------------------------------------------------------------------------------

def _looks_like_json(body: bytes) -> bool:
    return body.lstrip()[:1] in (b"{", b"[")


def _from_base64(session: Session, vehicle_id: int, vin: str, value, body: bytes) -> Case:
    if not isinstance(value, str):
        return _unreadable(session, vehicle_id, body, "'msd' must be the MSD in base64")
    try:
        payload = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return _unreadable(session, vehicle_id, body, "'msd' is not valid base64")
    return from_msd(session=session, vehicle_id=vehicle_id, vin=vin, payload=payload)


# What an unreadable message keeps on its case for the agent and the car's maker: its start is
# enough to recognise it, and a case stays small whatever was sent.
RAW_KEPT = 16 * 1024


def _unreadable(session: Session, vehicle_id: int, body: bytes, problem: str) -> Case:
    """Nothing could be read, but the car is known: a crash case at its last known position."""
    raw = bytes(body[:RAW_KEPT])
    return raise_alert(session=session, vehicle_id=vehicle_id, kind="crash", source="ecall", at=None,
                       activation="automatic",
                       problems=[problem, "activation unknown: treated as an automatic crash alert"],
                       vehicle_data={"format": "unreadable", "raw": raw.hex(), "problems": [problem]})


def _flag(message: dict, name: str, problems: list[str]) -> bool | None:
    value = message.get(name)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, str)) and value in _FLAG_WORDS:
        return _FLAG_WORDS[value]
    problems.append(f"{name} unreadable ({shown(value, 20)})")
    return None


def _point(value, name: str, problems: list[str]) -> tuple[object, object]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        problems.append(f"{name} unreadable")
        return None, None
    return value.get("latitude"), value.get("longitude")


def _moment(value):
    """EN 15722 sends seconds since 1970 (UTC); an ISO 8601 string is read too. What cannot be
    read is handed on as it is, and ``raise_alert`` names it and uses the time received."""
    from datetime import UTC, datetime

    if value is None:
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return datetime.fromtimestamp(float(value), UTC)
        if isinstance(value, str) and len(value) <= 64:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    return "unreadable"


def _vehicle_data(message: dict) -> dict:
    data: dict = {"format": "json"}
    for key in ("vin", "vehicle_type"):
        if isinstance(message.get(key), str):
            data[key] = message[key][:40]
    propulsion = message.get("propulsion")
    if isinstance(propulsion, str):
        propulsion = [propulsion]
    if isinstance(propulsion, list):
        data["propulsion"] = [name[:40] for name in propulsion[:MAX_NAMES] if isinstance(name, str)]
    return data
