"""What every decoder needs the same way: bounded JSON, one reading of time stamps, stable message keys.

Kept in one place so the three protocols agree on the awkward cases — a naive time stamp, seconds
versus milliseconds, a duplicated JSON key, a 300 kB payload — and a fix lands everywhere at once.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime, timedelta, timezone

from forecourt.telematics.readings import DecodeError

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Below this an epoch number is seconds (up to the year 5138), at or above it milliseconds (from 1973).
EPOCH_MILLISECONDS_FROM = 100_000_000_000
_EPOCH_NUMBER = re.compile(r"[0-9]{1,20}(\.[0-9]{1,9})?", re.ASCII)
_SPACE_SEPARATED_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}", re.ASCII)
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)
_MAX_TIMESTAMP_CHARS = 64
_CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def load_json(payload: object, *, what: str, max_bytes: int) -> object:
    """The parsed document, refusing what no honest sender produces.

    Refused: more than ``max_bytes``, invalid UTF-8, NaN/Infinity literals, numbers that overflow a
    double, a key given twice in one object (which value was meant?), and nesting deep enough to
    exhaust the parser.
    """
    if isinstance(payload, str):
        if len(payload) > max_bytes:
            raise DecodeError(f"{what} is larger than {max_bytes} bytes")
        try:
            raw = payload.encode("utf-8")
        except UnicodeEncodeError:
            raise DecodeError(f"{what} contains an unpaired surrogate and is not valid Unicode") from None
    elif isinstance(payload, (bytes, bytearray, memoryview)):
        raw = bytes(payload)
    else:
        raise DecodeError(f"{what} must be bytes or text, got {type(payload).__name__}")
    if len(raw) > max_bytes:
        raise DecodeError(f"{what} is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DecodeError(f"{what} is not valid UTF-8 (byte {error.start})") from None
    try:
        return json.loads(text, object_pairs_hook=_object_without_duplicates,
                          parse_constant=_refuse_constant, parse_float=_finite_float)
    except DecodeError as error:
        raise DecodeError(f"{what} is not acceptable JSON: {error}") from None
    except RecursionError:
        raise DecodeError(f"{what} is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, or an integer with too many digits
        raise DecodeError(f"{what} is not valid JSON: {clip(str(error), 200)}") from None


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document: dict[str, object] = {}
    for key, value in pairs:
        if key in document:
            raise DecodeError(f"the key '{clip(key, 80)}' appears twice in one object")
        document[key] = value
    return document


def _refuse_constant(name: str) -> float:
    raise DecodeError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise DecodeError(f"the number {clip(text, 40)} is too large")
    return number


def parse_timestamp(value: object, *, field: str, space_separated_is_utc: bool = False) -> datetime:
    """An aware UTC datetime from epoch seconds or milliseconds (told apart by magnitude) or ISO 8601.

    ISO text must carry its zone (``Z`` or an offset): a naive time is a guess about the sender's
    clock, and a wrong guess moves a crash by hours. The one exception, for protocols that document
    it (OsmAnd), is ``yyyy-MM-dd HH:mm:ss``, which is read as UTC.
    """
    if isinstance(value, bool):
        raise DecodeError(f"{field}: expected a time stamp, got a boolean")
    if isinstance(value, (int, float)):
        return from_epoch_number(value, field=field)
    if not isinstance(value, str):
        raise DecodeError(f"{field}: expected a time stamp, got {type(value).__name__}")
    text = value.strip()
    if len(text) > _MAX_TIMESTAMP_CHARS or not text.isprintable():
        raise DecodeError(f"{field}: '{clip(text, 40)}' is not a time stamp")
    if _EPOCH_NUMBER.fullmatch(text):
        return from_epoch_number(float(text) if "." in text else int(text), field=field)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DecodeError(f"{field}: '{text}' is neither epoch seconds, epoch milliseconds nor an "
                          "ISO 8601 time") from None
    if moment.tzinfo is None:
        if not (space_separated_is_utc and _SPACE_SEPARATED_UTC.fullmatch(text)):
            raise DecodeError(f"{field}: '{text}' has no time zone; end it with Z or an offset like +02:00")
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:
        raise DecodeError(f"{field}: '{text}' is out of range") from None
    if moment < EPOCH:
        raise DecodeError(f"{field}: '{text}' is before 1970")
    return moment


def from_epoch_number(number: int | float, *, field: str) -> datetime:
    if not math.isfinite(number):
        raise DecodeError(f"{field}: {number} is not a time stamp")
    if number < 0:
        raise DecodeError(f"{field}: {number} is before 1970")
    if number < EPOCH_MILLISECONDS_FROM:
        return _epoch_plus(timedelta(seconds=number), number, field)
    return from_epoch_milliseconds(number, field=field)


def from_epoch_milliseconds(milliseconds: int | float, *, field: str) -> datetime:
    if not math.isfinite(milliseconds) or milliseconds < 0:
        raise DecodeError(f"{field}: {milliseconds} is not a time stamp")
    try:
        delta = timedelta(milliseconds=milliseconds)
    except OverflowError:
        raise DecodeError(f"{field}: {clip(repr(milliseconds), 40)} ms is past the year 9999") from None
    return _epoch_plus(delta, milliseconds, field)


def _epoch_plus(delta: timedelta, number: int | float, field: str) -> datetime:
    try:
        return EPOCH + delta
    except OverflowError:
        raise DecodeError(f"{field}: {clip(repr(number), 40)} is past the year 9999") from None


def parse_decimal(text: str, *, field: str) -> float:
    """A finite number from text, in plain decimal notation only.

    ``float()`` alone would also take "nan", "inf", "1_000" and non-ASCII digits, none of which a
    tracker means.
    """
    candidate = text.strip()
    if len(candidate) > 40 or not _DECIMAL.fullmatch(candidate):
        raise DecodeError(f"{field}: '{clip(text, 40)}' is not a number")
    number = float(candidate)
    if not math.isfinite(number):
        raise DecodeError(f"{field}: '{clip(text, 40)}' is too large")
    return number


def device_id(value: object, *, field: str, max_chars: int = 128) -> str:
    """A sender's self-chosen identifier, trimmed, refused if empty, huge or holding control characters."""
    if not isinstance(value, str):
        raise DecodeError(f"{field}: expected text, got {type(value).__name__}")
    candidate = value.strip()
    if not candidate:
        raise DecodeError(f"{field} is empty")
    if len(candidate) > max_chars:
        raise DecodeError(f"{field} is longer than {max_chars} characters")
    if _CONTROL_OR_SURROGATE.search(candidate):
        raise DecodeError(f"{field} contains control characters or invalid Unicode")
    return candidate


def canonical_json(document: object) -> str:
    """One spelling per value: sorted keys, no spaces, ASCII only, so equal content hashes equally."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def message_key(*parts: str | bytes, at: datetime) -> str:
    """When the reading was measured (Unix seconds, 10 hex digits), then a 128-bit BLAKE2b digest of
    the parts, each length-prefixed so ("ab", "c") != ("a", "bc").

    The time comes first so that keys arrive in nearly ascending order: a batch of thousands of
    cars then adds to the last pages of the key index instead of dirtying a random page per
    message, which was a sixth of every telemetry commit.
    """
    digest = hashlib.blake2b(digest_size=16, person=b"forecourt.read")
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else bytes(part)
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return f"{min(max(int(at.timestamp()), 0), 0xFFFFFFFFFF):010x}{digest.hexdigest()}"


def clip(text: str, limit: int) -> str:
    """``text`` made safe for the rejection log: control characters and unpaired surrogates escaped
    (no forged log lines, no encoding errors in the log writer) and cut to ``limit`` characters."""
    if not text.isprintable():
        text = "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode_each(items: list, decode_one, *, noun: str) -> list:
    """Decode every item of a batch, or refuse the batch naming the item that failed: a message is
    acknowledged whole, so it is stored whole or not at all."""
    decoded = []
    for index, item in enumerate(items):
        try:
            decoded.append(decode_one(item))
        except DecodeError as error:
            if len(items) == 1:
                raise
            raise DecodeError(f"{noun} {index}: {error}") from None
    return decoded
