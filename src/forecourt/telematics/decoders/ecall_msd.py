"""The eCall minimum set of data (MSD, EN 15722): ASN.1 unaligned PER, format versions 1 to 3.

What a car's in-vehicle system sends when it calls 112 after a crash (or when the occupants press
its SOS button), and what RFC 8147 carries as ``application/EmergencyCallData.eCall.MSD``. The first
byte is always the format version; version 1 follows it with the MSD itself, versions 2 and 3 with
a length and then the MSD (an OCTET STRING CONTAINING it). The modules are compiled by asn1tools
from the ``msd/`` folder beside this file, once, on first use (see ``msd/NOTICE`` for where their
text comes from and the one change made for asn1tools).

The decoder reads every encoding a basic unaligned PER decoder reads, so non-canonical ones (a
DEFAULT FALSE propulsion flag written out, padding after the MSD) are accepted. When the optional
additional data is broken but the MSD before it is whole, the MSD is kept and the additional data
named as the problem: a crash report is not thrown away for its appendix. Values the standard marks
as unknown (position 2147483647, direction 255, 255 occupants, time 0) become ``None``; values
outside what the standard allows become ``None`` with a problem. Everything else is ``DecodeError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources

from forecourt.telematics.readings import DecodeError

VERSIONS = (1, 2, 3)
MAX_BYTES = 4096  # the in-band modem carries 140 bytes; NG-eCall (RFC 8147) allows more, not this much
MEDIA_TYPE = "application/EmergencyCallData.eCall.MSD"
UNKNOWN_COORDINATE = 2147483647
MILLIARCSECONDS_PER_DEGREE = 3_600_000
DELTA_UNIT_MILLIARCSECONDS = 100
PROPULSION = {"gasolineTankPresent": "gasoline", "dieselTankPresent": "diesel",
              "compressedNaturalGas": "compressed_natural_gas", "liquidPropaneGas": "liquid_propane_gas",
              "electricEnergyStorage": "electric", "hydrogenStorage": "hydrogen", "otherStorage": "other"}
_PACKAGE = "forecourt.telematics.decoders.msd"
# What asn1tools may raise on bytes it cannot read, besides its own errors: found by fuzzing.
_LIBRARY_FAILURES = (ValueError, IndexError, KeyError, TypeError, OverflowError, RecursionError,
                     NotImplementedError)


@dataclass(frozen=True)
class MinimumSetOfData:
    version: int
    message_identifier: int
    automatic_activation: bool
    test_call: bool
    position_can_be_trusted: bool
    vehicle_type: str | None
    vin: str
    propulsion: tuple[str, ...]
    timestamp: datetime | None  # None: the car's clock failed (sent as 0)
    latitude: float | None  # degrees, WGS84
    longitude: float | None
    direction: float | None  # degrees from north, in 2-degree steps
    recent_positions: tuple[tuple[float, float], ...]  # N1 then N2, absolute, when the position is known
    recent_deltas: tuple[tuple[int, int], ...]  # as sent, in units of 100 milliarcseconds
    passengers: int | None
    additional_data: dict | None  # {"oid": "1.4.1", "data": hex}
    raw: bytes
    problems: tuple[str, ...] = field(default=())

    def as_json(self) -> dict:
        """What the On Call case keeps of the message: everything, in JSON types."""
        return {"format": "asn1-uper", "version": self.version, "message_identifier": self.message_identifier,
                "automatic_activation": self.automatic_activation, "test_call": self.test_call,
                "position_can_be_trusted": self.position_can_be_trusted, "vehicle_type": self.vehicle_type,
                "vin": self.vin, "propulsion": list(self.propulsion),
                "timestamp": self.timestamp.isoformat() if self.timestamp else None,
                "latitude": self.latitude, "longitude": self.longitude, "direction": self.direction,
                "recent_deltas": [list(delta) for delta in self.recent_deltas],
                "passengers": self.passengers, "additional_data": self.additional_data,
                "raw": self.raw.hex(), "problems": list(self.problems)}


@cache
def specification(version: int):
    """The compiled module of one format version (asn1tools, unaligned PER)."""
    import asn1tools

    text = (resources.files(_PACKAGE) / f"ecall_msd_v{version}.asn").read_text(encoding="utf-8")
    return asn1tools.compile_string(text, "uper")


def decode(payload: bytes) -> MinimumSetOfData:
    """The MSD in ``payload``, or ``DecodeError`` saying why it cannot be read."""
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise DecodeError(f"an MSD is bytes, got {type(payload).__name__}")
    raw = bytes(payload)
    if not raw:
        raise DecodeError("the MSD is empty")
    if len(raw) > MAX_BYTES:
        raise DecodeError(f"the MSD is {len(raw)} bytes; the limit is {MAX_BYTES}")
    version = raw[0]
    if version not in VERSIONS:
        raise DecodeError(f"MSD format version {version} is not one Forecourt reads (1 to 3)")
    spec = specification(version)
    message_octets = raw[1:] if version == 1 else _contained(spec, raw)
    problems: list[str] = []
    message = _decode_message(spec, message_octets, problems)
    return _read(version, message, raw, problems)


def encode(version: int, message: dict) -> bytes:
    """The canonical encoding of an MSDMessage value (asn1tools' names), for tests and simulators."""
    spec = specification(version)
    inner = spec.encode("MSDMessage", message)
    if version == 1:
        return bytes([1]) + inner
    return spec.encode("ECallMessage", {"msdVersion": version, "msd": inner})


# --- reading the bits -------------------------------------------------------------------------------

def _contained(spec, raw: bytes) -> bytes:
    try:
        return spec.decode("ECallMessage", raw)["msd"]
    except Exception as error:  # noqa: BLE001 - narrowed just below; asn1tools raises many kinds
        raise _decode_error("the MSD's length or octets", error) from None


def _decode_message(spec, octets: bytes, problems: list[str]) -> dict:
    try:
        return spec.decode("MSDMessage", octets)
    except Exception as error:  # noqa: BLE001
        whole = _decode_error("the MSD", error)
    # The additional data comes last: if only it is broken, the MSD before it is still worth having.
    if len(octets) and octets[0] & 0b0100_0000:  # MSDMessage's presence bit of the additional data
        try:
            structure = spec.decode("MSDStructure", _shifted_left(octets, 2))
        except Exception:  # noqa: BLE001
            raise whole from None
        problems.append(f"the additional data could not be read ({whole}): the rest of the MSD was")
        return {"msdStructure": structure}
    raise whole


def _decode_error(what: str, error: Exception) -> DecodeError:
    import asn1tools

    if not isinstance(error, (asn1tools.Error, *_LIBRARY_FAILURES)):
        raise error
    return DecodeError(f"{what} could not be decoded: {_clip(str(error) or type(error).__name__, 200)}")


def _shifted_left(data: bytes, bits: int) -> bytes:
    number = int.from_bytes(data, "big") << bits
    return (number & ((1 << (8 * len(data))) - 1)).to_bytes(len(data), "big")


# --- turning it into facts --------------------------------------------------------------------------

def _read(version: int, message: dict, raw: bytes, problems: list[str]) -> MinimumSetOfData:
    structure = message["msdStructure"]
    control = structure["control"]
    vin_parts = structure["vehicleIdentificationNumber"]
    vin = "".join(vin_parts[part] for part in ("isowmi", "isovds", "isovisModelyear", "isovisSeqPlant"))
    vehicle_type = control["vehicleType"]
    if not isinstance(vehicle_type, str):  # an extension value this module does not name
        problems.append("vehicle type unknown to format version %d" % version)
        vehicle_type = None
    storage = structure["vehiclePropulsionStorageType"]
    propulsion = tuple(name for flag, name in PROPULSION.items() if storage.get(flag) is True)
    latitude, longitude = _position(structure["vehicleLocation"], problems)
    deltas = tuple((delta["latitudeDelta"], delta["longitudeDelta"])
                   for delta in (structure.get("recentVehicleLocationN1"), structure.get("recentVehicleLocationN2"))
                   if delta is not None)
    passengers = structure.get("numberOfPassengers", structure.get("numberOfOccupants"))
    return MinimumSetOfData(
        version=version, message_identifier=structure["messageIdentifier"],
        automatic_activation=control["automaticActivation"], test_call=control["testCall"],
        position_can_be_trusted=control["positionCanBeTrusted"], vehicle_type=vehicle_type, vin=vin,
        propulsion=propulsion, timestamp=_timestamp(structure["timestamp"], problems),
        latitude=latitude, longitude=longitude, direction=_direction(structure["vehicleDirection"], problems),
        recent_positions=_recent(latitude, longitude, deltas), recent_deltas=deltas,
        passengers=None if passengers in (None, 255) else passengers,
        additional_data=_additional(message.get("optionalAdditionalData"), problems),
        raw=raw, problems=tuple(problems))


def _position(location: dict, problems: list[str]) -> tuple[float | None, float | None]:
    latitude, longitude = location["positionLatitude"], location["positionLongitude"]
    if UNKNOWN_COORDINATE in (latitude, longitude):
        problems.append("the car did not know its position (sent as unknown)")
        return None, None
    if abs(latitude) > 90 * MILLIARCSECONDS_PER_DEGREE or abs(longitude) > 180 * MILLIARCSECONDS_PER_DEGREE:
        problems.append(f"position {latitude}/{longitude} milliarcseconds is not a place on Earth")
        return None, None
    return latitude / MILLIARCSECONDS_PER_DEGREE, longitude / MILLIARCSECONDS_PER_DEGREE


def _recent(latitude: float | None, longitude: float | None,
            deltas: tuple[tuple[int, int], ...]) -> tuple[tuple[float, float], ...]:
    """N1 is given relative to the current position, N2 relative to N1."""
    if latitude is None or longitude is None:
        return ()
    points = []
    for delta_latitude, delta_longitude in deltas:
        latitude += delta_latitude * DELTA_UNIT_MILLIARCSECONDS / MILLIARCSECONDS_PER_DEGREE
        longitude += delta_longitude * DELTA_UNIT_MILLIARCSECONDS / MILLIARCSECONDS_PER_DEGREE
        if abs(latitude) > 90 or abs(longitude) > 180:
            break
        points.append((round(latitude, 7), round(longitude, 7)))
    return tuple(points)


def _timestamp(seconds: int, problems: list[str]) -> datetime | None:
    if seconds == 0:
        problems.append("the car's clock failed (timestamp 0)")
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


def _direction(value: int, problems: list[str]) -> float | None:
    if value == 255:
        return None
    if value > 179:
        problems.append(f"direction {value} is not one of the 2-degree steps 0 to 179")
        return None
    return float(value * 2)


def _additional(data: dict | None, problems: list[str]) -> dict | None:
    if data is None:
        return None
    oid = _relative_oid(data["oid"])
    if oid is None:
        problems.append("the additional data's object identifier is malformed")
        oid = data["oid"].hex()
    return {"oid": oid, "data": data["data"].hex()}


def _relative_oid(octets: bytes) -> str | None:
    """X.690 8.20: base-128 arcs, the high bit set on every octet but an arc's last."""
    arcs, arc, started = [], 0, False
    for octet in octets:
        if not started and octet == 0x80:  # a leading 0x80 pads an arc: not allowed
            return None
        arc, started = (arc << 7) | (octet & 0x7F), True
        if not octet & 0x80:
            arcs.append(str(arc))
            arc, started = 0, False
    return ".".join(arcs) if arcs and not started else None


def _clip(text: str, limit: int) -> str:
    text = "".join(char if char.isprintable() else "?" for char in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
