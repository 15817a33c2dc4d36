"""A Teltonika Codec 8 encoder: the frames an FMB tracker sends, byte for byte.

Frame: four zero bytes, the data field length, then codec id 0x08, record count, the records, the
count again, and CRC-16/IBM of the data field in four bytes. A record: timestamp (ms), priority,
the 15-byte GPS element (longitude and latitude × 10⁷, altitude, angle, satellites, speed km/h),
the event IO id, the IO count and the 1-, 2-, 4- and 8-byte IO groups. The CRC is the decoder's own
function, so encoder and decoder cannot drift apart on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from forecourt.telematics.decoders.teltonika import CODEC_8, IMEI_DIGITS, crc16_ibm

_SIZES = (1, 2, 4, 8)


@dataclass(frozen=True)
class Record:
    timestamp: datetime
    latitude: float
    longitude: float
    altitude: int = 0
    angle: int = 0
    satellites: int = 0
    speed: int = 0  # km/h
    priority: int = 0
    event_io_id: int = 0
    io: dict[int, tuple[int, int]] = field(default_factory=dict)  # IO id -> (size in bytes, value)


def hello(imei: str) -> bytes:
    """The first message of a session: the IMEI's length in two bytes, then its ASCII digits."""
    if len(imei) != IMEI_DIGITS or not imei.isdigit():
        raise ValueError(f"an IMEI has {IMEI_DIGITS} digits, not {imei!r}")
    return len(imei).to_bytes(2, "big") + imei.encode("ascii")


def encode_record(record: Record) -> bytes:
    out = bytearray()
    out += int(record.timestamp.timestamp() * 1000).to_bytes(8, "big")
    out += bytes([record.priority])
    out += round(record.longitude * 1e7).to_bytes(4, "big", signed=True)
    out += round(record.latitude * 1e7).to_bytes(4, "big", signed=True)
    out += int(record.altitude).to_bytes(2, "big", signed=True)
    out += (int(record.angle) % 360).to_bytes(2, "big")
    out += bytes([record.satellites])
    out += max(0, min(int(record.speed), 0xFFFF)).to_bytes(2, "big")
    out += bytes([record.event_io_id, len(record.io)])
    for size in _SIZES:
        group = sorted((io_id, value) for io_id, (width, value) in record.io.items() if width == size)
        out += bytes([len(group)])
        for io_id, value in group:
            out += bytes([io_id]) + value.to_bytes(size, "big")
    unknown = {width for width, _ in record.io.values()} - set(_SIZES)
    if unknown:
        raise ValueError(f"IO values are 1, 2, 4 or 8 bytes wide, not {sorted(unknown)}")
    return bytes(out)


def encode_frame(records: list[Record]) -> bytes:
    """One TCP AVL frame holding ``records`` (1 to 255 of them)."""
    if not 1 <= len(records) <= 255:
        raise ValueError("a Codec 8 frame holds 1 to 255 records")
    data = bytes([CODEC_8, len(records)]) + b"".join(encode_record(r) for r in records) + bytes([len(records)])
    return b"\x00\x00\x00\x00" + len(data).to_bytes(4, "big") + data + crc16_ibm(data).to_bytes(4, "big")
