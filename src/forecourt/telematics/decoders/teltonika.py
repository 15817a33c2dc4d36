"""Teltonika trackers: Codec 8 and Codec 8 Extended over TCP (and the Codec 8 UDP datagram).

A TCP session is: the tracker sends its IMEI (``read_imei``), we answer ``IMEI_ACCEPT`` or
``IMEI_REJECT``; then it sends AVL frames and waits, for each, for ``ack(number of records)``. A
tracker that is not acknowledged resends, so a frame must never be acknowledged before its readings
are safely stored — which is why decoding (here) and acknowledging (the listener) are separate steps.

Every check a frame can fail — preamble, declared length, CRC-16/IBM, codec id, the two record
counts, a record running past the end — is its own ``DecodeError``, so the rejection log says which.
``frame_length`` lets a listener cut a TCP stream into frames without decoding them.

IO element values are read as unsigned big-endian integers (Codec 8E variable-length values stay
bytes); which IO id means what depends on the device model and configuration, and only the few ids
below, common to the FMB family, are translated into VSS signals and events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from forecourt.telematics.decoders.primitives import clip, from_epoch_milliseconds, message_key
from forecourt.telematics.readings import DecodeError, Reading, Source, VehicleEvent
from forecourt.telematics.vss import check

IMEI_ACCEPT = b"\x01"
IMEI_REJECT = b"\x00"
CODEC_8 = 0x08
CODEC_8_EXTENDED = 0x8E
MAX_DATA_LENGTH = 64 * 1024
IMEI_DIGITS = 15
PRIORITY_PANIC = 2

_PREAMBLE = b"\x00\x00\x00\x00"
_HEADER = 8  # preamble + data field length
_CRC_FIELD = 4
# codec id + NoD1 + the smallest Codec 8 record (8 + 1 + 15 + 6 bytes of empty IO element) + NoD2
_MIN_DATA_LENGTH = 3 + 30
_GPS_ELEMENT = 15

# Well-known FMB IO ids.
IO_TOTAL_ODOMETER = 16  # metres
IO_EXTERNAL_VOLTAGE = 66  # millivolts
IO_IGNITION = 239
IO_MOVEMENT = 240
IO_TOWING = 246
IO_CRASH_DETECTION = 247
IO_UNPLUG = 252
IO_GREEN_DRIVING_TYPE = 253
_GREEN_DRIVING = {1: VehicleEvent.HARSH_ACCELERATION, 2: VehicleEvent.HARSH_BRAKING,
                  3: VehicleEvent.HARSH_CORNERING}


@dataclass(frozen=True)
class AvlRecord:
    timestamp: datetime  # aware UTC, millisecond precision
    priority: int  # 0 low, 1 high, 2 panic
    longitude: float  # degrees, WGS 84
    latitude: float
    altitude: int  # metres
    angle: int  # degrees clockwise from north
    satellites: int
    speed: int  # km/h
    event_io_id: int  # the IO that caused this record, 0 for a periodic one
    io: dict[int, int | bytes]
    raw: bytes = field(default=b"", repr=False)  # the record's bytes, for its message key


@dataclass(frozen=True)
class AvlPacket:
    codec_id: int
    records: list[AvlRecord]


@dataclass(frozen=True)
class UdpDatagram:
    packet_id: int
    avl_packet_id: int
    imei: str
    packet: AvlPacket


def imei_length(buffer: bytes) -> int | None:
    """How many bytes the IMEI message needs, or None until its 2-byte length has arrived."""
    _require_bytes(buffer, "IMEI message")
    if len(buffer) < 2:
        return None
    declared = int.from_bytes(buffer[:2], "big")
    if declared != IMEI_DIGITS:
        raise DecodeError(f"IMEI length field says {declared}; an IMEI has {IMEI_DIGITS} digits")
    return 2 + declared


def read_imei(data: bytes) -> str:
    """The IMEI from the session's first message: 2-byte length, then that many ASCII digits."""
    needed = imei_length(data)
    if needed is None or len(data) < needed:
        raise DecodeError(f"IMEI message is truncated: {len(data)} of {needed or 2 + IMEI_DIGITS} bytes")
    if len(data) > needed:
        raise DecodeError(f"IMEI message has {len(data) - needed} bytes after the IMEI")
    return _imei_digits(bytes(data[2:needed]))


def crc16_ibm(data: bytes) -> int:
    """CRC-16/IBM (also called CRC-16/ARC): polynomial 0x8005 reflected, initial value 0."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def frame_length(buffer: bytes) -> int | None:
    """Bytes the next AVL frame occupies in total, or None until its 8-byte header has arrived."""
    _require_bytes(buffer, "AVL frame")
    seen = bytes(buffer[: len(_PREAMBLE)])
    if seen != _PREAMBLE[: len(seen)]:
        raise DecodeError(f"bad preamble {seen.hex()}: an AVL frame starts with 00000000")
    if len(buffer) < _HEADER:
        return None
    length = int.from_bytes(buffer[4:_HEADER], "big")
    if length < _MIN_DATA_LENGTH:
        raise DecodeError(f"data field length {length} is shorter than the smallest AVL packet "
                          f"({_MIN_DATA_LENGTH} bytes)")
    if length > MAX_DATA_LENGTH:
        raise DecodeError(f"data field length {length} is over the {MAX_DATA_LENGTH}-byte limit")
    return _HEADER + length + _CRC_FIELD


def decode_frame(frame: bytes) -> AvlPacket:
    """One complete TCP AVL frame, preamble to CRC, checked and parsed."""
    needed = frame_length(frame)
    if needed is None:
        raise DecodeError(f"AVL frame is truncated: {len(frame)} bytes, shorter than its {_HEADER}-byte header")
    if len(frame) < needed:
        raise DecodeError(f"AVL frame is truncated: {len(frame)} of {needed} bytes")
    if len(frame) > needed:
        raise DecodeError(f"AVL frame has {len(frame) - needed} bytes after its CRC; the data field "
                          f"length says {needed - _HEADER - _CRC_FIELD}")
    data = bytes(frame[_HEADER: needed - _CRC_FIELD])
    declared_crc = int.from_bytes(frame[needed - _CRC_FIELD: needed], "big")
    computed_crc = crc16_ibm(data)
    if declared_crc != computed_crc:
        raise DecodeError(f"CRC mismatch: the frame says 0x{declared_crc:04X}, its data gives "
                          f"0x{computed_crc:04X}")
    return _packet(data)


def decode_datagram(datagram: bytes) -> UdpDatagram:
    """One UDP datagram: its own header with the IMEI, then the AVL data (UDP carries no CRC)."""
    _require_bytes(datagram, "UDP datagram")
    data = bytes(datagram)
    if len(data) < 8:
        raise DecodeError(f"UDP datagram is {len(data)} bytes, shorter than its header")
    declared = int.from_bytes(data[:2], "big")
    if declared != len(data) - 2:
        raise DecodeError(f"UDP length field says {declared} bytes follow; {len(data) - 2} do")
    imei_length(data[6:8])  # refuses any IMEI length but 15
    imei_end = 8 + IMEI_DIGITS
    if len(data) < imei_end:
        raise DecodeError("UDP datagram ends inside the IMEI")
    return UdpDatagram(
        packet_id=int.from_bytes(data[2:4], "big"),
        avl_packet_id=data[5],
        imei=_imei_digits(data[8:imei_end]),
        packet=_packet(data[imei_end:]),
    )


def ack(count: int) -> bytes:
    """The TCP answer to a frame: how many records were accepted, as a 4-byte big-endian integer."""
    if not 0 <= count <= 0xFFFFFFFF:
        raise ValueError(f"a record count is 0..{0xFFFFFFFF}, not {count}")
    return count.to_bytes(4, "big")


def udp_ack(datagram: UdpDatagram) -> bytes:
    """The 7-byte UDP answer: length 5, packet id, 0x01, AVL packet id, accepted record count.

    This follows the common reading of Teltonika's documentation; it has not been checked against a
    device.
    """
    return (b"\x00\x05" + datagram.packet_id.to_bytes(2, "big") + b"\x01"
            + bytes([datagram.avl_packet_id, len(datagram.packet.records)]))


def to_readings(imei: str, packet: AvlPacket) -> list[Reading]:
    """One reading per record, in order, so reading ``i`` is record ``i``.

    A record that maps to no signal still becomes a reading: it is the device saying it was alive
    then, which the pipeline may want for "last seen".
    """
    if not isinstance(imei, str) or len(imei) != IMEI_DIGITS or not imei.isascii() or not imei.isdigit():
        shown = clip(imei, 40) if isinstance(imei, str) else type(imei).__name__
        raise DecodeError(f"'{shown}' is not an IMEI of {IMEI_DIGITS} digits")
    readings = []
    for index, record in enumerate(packet.records):
        try:
            signals, events = _translate(record)
        except DecodeError as error:
            raise DecodeError(f"record {index}: {error}") from None
        readings.append(Reading(
            source=Source.TRACKER,
            device_id=imei,
            measured_at=record.timestamp,
            signals=signals,
            events=events,
            message_key=message_key(Source.TRACKER.value, imei, bytes([packet.codec_id]), record.raw,
                                    at=record.timestamp),
        ))
    return readings


# --- parsing ----------------------------------------------------------------------------------------

class _Cursor:
    """Reads big-endian fields from a buffer, naming the field when the buffer runs out."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def take(self, size: int, what: str) -> bytes:
        end = self.position + size
        if end > len(self.data):
            raise DecodeError(f"the data ends inside {what}")
        chunk = self.data[self.position:end]
        self.position = end
        return chunk

    def unsigned(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "big")

    def signed(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "big", signed=True)


def _packet(data: bytes) -> AvlPacket:
    cursor = _Cursor(data)
    codec_id = cursor.unsigned(1, "the codec id")
    if codec_id not in (CODEC_8, CODEC_8_EXTENDED):
        raise DecodeError(f"codec id 0x{codec_id:02X} is neither Codec 8 (0x08) nor Codec 8 Extended (0x8E)")
    count = cursor.unsigned(1, "number of data 1")
    if count == 0:
        raise DecodeError("number of data 1 is 0: the packet holds no records")
    records = []
    for index in range(count):
        try:
            records.append(_record(cursor, codec_id))
        except DecodeError as error:
            raise DecodeError(f"record {index} of {count}: {error}") from None
    closing = cursor.unsigned(1, f"number of data 2 (after {count} records)")
    if closing != count:
        raise DecodeError(f"number of data 2 is {closing} but number of data 1 is {count}")
    if cursor.position != len(data):
        raise DecodeError(f"{len(data) - cursor.position} unexpected bytes after number of data 2")
    return AvlPacket(codec_id=codec_id, records=records)


def _record(cursor: _Cursor, codec_id: int) -> AvlRecord:
    start = cursor.position
    timestamp = from_epoch_milliseconds(cursor.unsigned(8, "the timestamp"), field="timestamp")
    priority = cursor.unsigned(1, "the priority")
    gps = _Cursor(cursor.take(_GPS_ELEMENT, "the GPS element"))
    longitude = gps.signed(4, "") / 1e7
    latitude = gps.signed(4, "") / 1e7
    altitude, angle = gps.signed(2, ""), gps.unsigned(2, "")
    satellites, speed = gps.unsigned(1, ""), gps.unsigned(2, "")
    if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
        raise DecodeError(f"latitude {latitude} / longitude {longitude} is not a place on Earth")
    if angle > 360:
        raise DecodeError(f"angle {angle} is over 360 degrees")
    width = 1 if codec_id == CODEC_8 else 2
    event_io_id = cursor.unsigned(width, "the event IO id")
    cursor.take(width, "the IO count")  # the total; each group below carries its own count
    io: dict[int, int | bytes] = {}
    for size in (1, 2, 4, 8):
        for _ in range(cursor.unsigned(width, f"the count of {size}-byte IO elements")):
            io_id = cursor.unsigned(width, f"a {size}-byte IO element")
            io[io_id] = cursor.unsigned(size, f"the value of IO {io_id}")
    if codec_id == CODEC_8_EXTENDED:
        for _ in range(cursor.unsigned(2, "the count of variable-length IO elements")):
            io_id = cursor.unsigned(2, "a variable-length IO element")
            io[io_id] = cursor.take(cursor.unsigned(2, f"the length of IO {io_id}"), f"the value of IO {io_id}")
    return AvlRecord(
        timestamp=timestamp, priority=priority, longitude=longitude, latitude=latitude,
        altitude=altitude, angle=angle, satellites=satellites, speed=speed,
        event_io_id=event_io_id, io=io, raw=cursor.data[start:cursor.position],
    )


def _imei_digits(digits: bytes) -> str:
    if len(digits) != IMEI_DIGITS or not digits.isdigit():
        raise DecodeError(f"IMEI {digits[:20]!r} is not {IMEI_DIGITS} ASCII digits")
    return digits.decode("ascii")


def _require_bytes(value: object, what: str) -> None:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise DecodeError(f"{what} must be bytes, got {type(value).__name__}")


# --- translation into VSS ---------------------------------------------------------------------------

def _translate(record: AvlRecord) -> tuple[dict[str, object], tuple[VehicleEvent, ...]]:
    signals: dict[str, object] = {}
    events: list[VehicleEvent] = []
    has_fix = not (record.satellites == 0 and record.latitude == 0 and record.longitude == 0)
    if has_fix:  # without a fix the GPS element is zeros, speed included
        signals["Vehicle.CurrentLocation.Latitude"] = record.latitude
        signals["Vehicle.CurrentLocation.Longitude"] = record.longitude
        signals["Vehicle.CurrentLocation.Altitude"] = float(record.altitude)
        signals["Vehicle.CurrentLocation.Heading"] = float(record.angle)
        signals["Vehicle.Speed"] = float(record.speed)
    io = {io_id: value for io_id, value in record.io.items() if isinstance(value, int)}
    ignition = io.get(IO_IGNITION)
    if ignition in (0, 1):
        signals["Vehicle.LowVoltageSystemState"] = "ON" if ignition else "OFF"
        # Ignition is in every periodic record; only the record it triggered marks the change.
        if record.event_io_id == IO_IGNITION:
            events.append(VehicleEvent.IGNITION_ON if ignition else VehicleEvent.IGNITION_OFF)
    if IO_MOVEMENT in io:
        signals["Vehicle.IsMoving"] = io[IO_MOVEMENT] != 0
    if IO_TOTAL_ODOMETER in io:
        signals["Vehicle.TraveledDistance"] = io[IO_TOTAL_ODOMETER]
    if IO_EXTERNAL_VOLTAGE in io:
        signals["Vehicle.LowVoltageBattery.CurrentVoltage"] = io[IO_EXTERNAL_VOLTAGE] / 1000
    if record.priority == PRIORITY_PANIC:
        events.append(VehicleEvent.SOS)
    if io.get(IO_CRASH_DETECTION, 0) != 0:
        events.append(VehicleEvent.CRASH)
    if io.get(IO_TOWING) == 1:
        events.append(VehicleEvent.TOW)
    if io.get(IO_UNPLUG) == 1:
        events.append(VehicleEvent.POWER_CUT)
    harsh = _GREEN_DRIVING.get(io.get(IO_GREEN_DRIVING_TYPE, 0))
    if harsh is not None:
        events.append(harsh)
    return {path: check(path, value) for path, value in signals.items()}, tuple(events)


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()
