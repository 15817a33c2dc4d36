"""Teltonika Codec 12: text commands to a tracker over its TCP session, and its text replies.

A frame is framed like an AVL frame (four zero bytes, the data size, the data, a CRC-16/IBM over the
data in a four-byte field); the data is codec id 0x0C, a command quantity (1), the type (0x05 a
command, 0x06 a response), the text's size (four bytes), the text, the quantity again. The tracker
answers each command with one response on the same connection, in order — the protocol carries no
id, so a listener sends the next command only once the last one was answered.

Every check a frame can fail is its own ``DecodeError``, as for AVL frames.
"""

from __future__ import annotations

from dataclasses import dataclass

from forecourt.telematics.decoders import teltonika
from forecourt.telematics.decoders.teltonika import crc16_ibm
from forecourt.telematics.readings import DecodeError

CODEC_12 = 0x0C
COMMAND, RESPONSE = 0x05, 0x06
MAX_TEXT = 4096
_PREAMBLE = b"\x00\x00\x00\x00"
_HEADER = 8
_CRC_FIELD = 4
_FIXED = 1 + 1 + 1 + 4 + 1  # codec id, quantity 1, type, text size, quantity 2


@dataclass(frozen=True)
class Message:
    kind: int  # COMMAND or RESPONSE
    text: str


def encode(text: str, kind: int = COMMAND) -> bytes:
    """One command (or, for a simulated tracker, a response) as a complete TCP frame."""
    body = text.encode("ascii")
    if not body or len(body) > MAX_TEXT:
        raise ValueError(f"a Codec 12 text has 1 to {MAX_TEXT} bytes, not {len(body)}")
    data = bytes([CODEC_12, 1, kind]) + len(body).to_bytes(4, "big") + body + b"\x01"
    return _PREAMBLE + len(data).to_bytes(4, "big") + data + crc16_ibm(data).to_bytes(4, "big")


def is_codec12(frame: bytes) -> bool:
    """A frame's codec id, read without decoding it (the listener cuts frames with ``frame_length``)."""
    return len(frame) > _HEADER and frame[_HEADER] == CODEC_12


def frame_length(buffer: bytes) -> int | None:
    """``teltonika.frame_length`` for a stream that carries AVL frames and Codec 12 replies: the bytes
    the next frame occupies, or None until its header and codec id have arrived."""
    if len(buffer) <= _HEADER:
        teltonika.frame_length(bytes(buffer[:4]))  # a wrong preamble is refused at once
        return None
    if buffer[_HEADER] != CODEC_12:
        return teltonika.frame_length(buffer)
    size = int.from_bytes(buffer[4:_HEADER], "big")
    if not _FIXED + 1 <= size <= _FIXED + MAX_TEXT:
        raise DecodeError(f"Codec 12 data size {size} is outside {_FIXED + 1}..{_FIXED + MAX_TEXT}")
    return _HEADER + size + _CRC_FIELD


def decode(frame: bytes) -> Message:
    """One complete frame, preamble to CRC, checked and read."""
    if len(frame) < _HEADER + _FIXED + 1 + _CRC_FIELD:
        raise DecodeError(f"Codec 12 frame of {len(frame)} bytes is too short")
    if frame[:4] != _PREAMBLE:
        raise DecodeError("Codec 12 frame does not start with four zero bytes")
    size = int.from_bytes(frame[4:8], "big")
    if _HEADER + size + _CRC_FIELD != len(frame):
        raise DecodeError(f"Codec 12 frame says {size} data bytes but carries {len(frame) - _HEADER - _CRC_FIELD}")
    data = frame[_HEADER:_HEADER + size]
    declared, computed = int.from_bytes(frame[-_CRC_FIELD:], "big"), crc16_ibm(data)
    if declared != computed:
        raise DecodeError(f"CRC mismatch: the frame says 0x{declared:04X}, its data gives 0x{computed:04X}")
    if data[0] != CODEC_12:
        raise DecodeError(f"codec 0x{data[0]:02X} is not Codec 12")
    quantity, kind, length = data[1], data[2], int.from_bytes(data[3:7], "big")
    if kind not in (COMMAND, RESPONSE):
        raise DecodeError(f"Codec 12 type 0x{kind:02X} is neither a command (0x05) nor a response (0x06)")
    if quantity != 1 or data[-1] != quantity:
        raise DecodeError(f"Codec 12 quantities {quantity} and {data[-1]}: one message per frame is expected")
    if _FIXED + length != size:
        raise DecodeError(f"Codec 12 text size {length} does not fit the data size {size}")
    try:
        text = data[7:7 + length].decode("ascii")
    except UnicodeDecodeError as error:
        raise DecodeError(f"Codec 12 text is not ASCII: {error}") from None
    return Message(kind, text)


_FAILURE_WORDS = ("error", "fail", "invalid", "unknown", "not ", "wrong")


def refused(reply: str) -> bool:
    """Whether a tracker's reply says no. FMB trackers answer a command they ran with its new state
    ("DOUT1:1 Timeout:2 DOUT2:IGNORED") and one they did not with words like these."""
    lowered = reply.lower()
    return any(word in lowered for word in _FAILURE_WORDS)
