"""Property-based fuzzing of every decoder entry point.

Whatever arrives from a network — random bytes, hostile JSON, a frame with a valid CRC and nonsense
inside — a decoder either returns well-formed readings or raises ``DecodeError``; nothing else may
escape, and nothing may take long.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecourt.telematics.decoders import osmand, teltonika, vss_json
from forecourt.telematics.readings import DecodeError, Reading, Source, VehicleEvent
from forecourt.telematics.vss import catalogue

FUZZ = settings(max_examples=400, deadline=timedelta(seconds=1),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
VIN = "WVWZZZ1JZXW000001"
IMEI = "356307042441013"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KEY = re.compile(r"[0-9a-f]{42}")
SOME_PATHS = ["Vehicle.Speed", "Vehicle.IsMoving", "Vehicle.TraveledDistance", "Vehicle.CurrentLocation.Latitude",
              "Vehicle.CurrentLocation.Heading", "Vehicle.LowVoltageSystemState", "Vehicle.Diagnostics.DTCList",
              "Vehicle.Cabin.SeatPosCount", "Vehicle.Safety.Rollover", "Vehicle.Powertrain.FuelSystem.RelativeLevel",
              "Vehicle", "Vehicle.speed", "timestamp", "events", "id", "samples"]


def outcome(decoder, *arguments):
    """The decoder's result, or None when it refused with DecodeError; any other exception fails the test."""
    try:
        return decoder(*arguments)
    except DecodeError as error:
        message = str(error)
        assert message, "a DecodeError must say what is wrong"
        assert message.isprintable() and len(message) < 1000, f"unsafe for the rejection log: {message!r}"
        return None


def assert_well_formed(reading: Reading, source: Source) -> None:
    assert reading.source is source and reading.device_id
    assert reading.measured_at.utcoffset() == timedelta(0)
    assert KEY.fullmatch(reading.message_key)
    assert all(isinstance(event, VehicleEvent) for event in reading.events)
    known = catalogue()
    assert all(path in known for path in reading.signals)
    json.dumps(reading.signals, allow_nan=False)  # finite, plain JSON values only


# --- values that look like the real thing, half-broken --------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["ON", "sos", "crash", "2024-05-01T10:00:00Z", "1714557600", "P0301", "DETECTED"]),
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
good_timestamps = st.one_of(
    st.integers(min_value=0, max_value=4_102_444_800), st.integers(min_value=10**11, max_value=4_102_444_800_000),
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.timezones())
    .map(lambda moment: moment.isoformat()),
)
timestamps = st.one_of(good_timestamps, good_timestamps, st.integers(min_value=-(2**64), max_value=2**64),
                       st.floats(), st.text(max_size=40),
                       st.sampled_from(["2024-05-01T10:00:00Z", "2024-05-01T10:00:00", "2024-05-01 10:00:00",
                                        "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"]))
SIGNALS = sorted(catalogue().values(), key=lambda signal: signal.path)
INTEGER_LIMITS = {"int8": 2**7, "uint8": 2**8, "int16": 2**15, "uint16": 2**16, "int32": 2**31,
                  "uint32": 2**32, "int64": 2**63, "uint64": 2**64}


def element_values(signal, datatype: str):
    """Values of the right type, mostly inside the signal's bounds and sometimes just outside."""
    if datatype in INTEGER_LIMITS:
        limit = INTEGER_LIMITS[datatype]
        low = signal.min if signal.min is not None else (0 if datatype.startswith("u") else -limit)
        high = signal.max if signal.max is not None else limit
        return st.integers(int(low) - 2, int(high) + 1)
    if datatype in ("float", "double"):
        low = signal.min if signal.min is not None else -1e6
        high = signal.max if signal.max is not None else 1e6
        return st.floats(low - 1, high + 1, allow_nan=False)
    if datatype == "boolean":
        return st.booleans()
    return st.sampled_from(signal.allowed + ("NOT_ALLOWED",)) if signal.allowed else st.text(max_size=12)


@st.composite
def signal_entries(draw) -> tuple[str, object]:
    signal = draw(st.sampled_from(SIGNALS))
    if signal.is_array:
        values = st.lists(element_values(signal, signal.datatype[:-2]), max_size=3)
    else:
        values = element_values(signal, signal.datatype)
    return signal.path, draw(values | values | values | json_values)


def with_signals(base: dict, at_least: int = 0):
    return st.lists(signal_entries(), min_size=at_least, max_size=5).map(lambda known: {**dict(known), **base})


noisy_samples = st.fixed_dictionaries(
    {"timestamp": timestamps},
    optional={"events": st.lists(st.sampled_from([*VehicleEvent, "meteor"]), max_size=3) | json_values,
              "id": st.text(max_size=5) | st.integers() | json_values},
).flatmap(with_signals).flatmap(
    lambda sample: st.dictionaries(st.sampled_from(SOME_PATHS) | st.text(max_size=30), json_values, max_size=1)
    .map(lambda odd: {**odd, **sample}))
plausible_samples = st.fixed_dictionaries(
    {"timestamp": good_timestamps},
    optional={"events": st.lists(st.sampled_from([event.value for event in VehicleEvent]), max_size=2),
              "id": st.text(min_size=1, max_size=5) | st.integers()},
).flatmap(lambda base: with_signals(base, at_least=1))
samples = st.one_of(plausible_samples, plausible_samples, noisy_samples)
vss_documents = st.one_of(samples, st.lists(samples, max_size=4), st.fixed_dictionaries({"samples": st.lists(samples, max_size=4)}),
                          json_values)


def as_payload(document) -> bytes:
    return json.dumps(document, allow_nan=True).encode()


@FUZZ
@given(vin=st.text(max_size=20) | st.just(VIN), payload=st.binary(max_size=300) | st.text(max_size=300))
def test_vss_json_survives_arbitrary_input(vin, payload):
    for reading in outcome(vss_json.decode, vin, payload) or []:
        assert_well_formed(reading, Source.EMBEDDED)


@FUZZ
@given(document=vss_documents)
def test_vss_json_survives_plausible_documents(document):
    for reading in outcome(vss_json.decode, VIN, as_payload(document)) or []:
        assert_well_formed(reading, Source.EMBEDDED)


@FUZZ
@given(topic=st.text(max_size=40) | st.builds("vehicles/{}/telemetry".format, st.text(max_size=20)))
def test_topic_vin_survives_arbitrary_topics(topic):
    vin = outcome(vss_json.topic_vin, topic)
    assert vin is None or (len(vin) == 17 and set(vin) <= set("ABCDEFGHJKLMNPRSTUVWXYZ0123456789"))


# --- OsmAnd -----------------------------------------------------------------------------------------

numberish = st.one_of(st.floats().map(str), st.integers().map(str), st.text(max_size=12),
                      st.sampled_from(["", "nan", "-inf", "1e999", "1_000", "٣", " 12 ", "-1", "0", "360.0"]))
query_fields = st.sampled_from(["id", "deviceid", "timestamp", "lat", "lon", "location", "speed", "bearing",
                                "heading", "altitude", "accuracy", "batt", "charge", "alarm", "valid", "hdop",
                                "driverUniqueId"]) | st.text(max_size=8)
query_values = numberish | timestamps.map(str) | st.sampled_from(["sos", "accident,tow", "true", "48.1,11.5", "1,2,3"])
plausible_query = st.fixed_dictionaries(
    {"id": st.text(alphabet="0123456789abc", min_size=1, max_size=8), "timestamp": good_timestamps.map(str)},
    optional={"speed": st.floats(-2, 300).map(str), "bearing": st.floats(-1, 361).map(str),
              "altitude": st.floats(-500, 9000).map(str), "accuracy": st.floats(-1, 500).map(str),
              "batt": st.floats(0, 100).map(str), "alarm": st.sampled_from(["sos", "lowBattery", "accident,tow"])},
)
plausible_query = plausible_query.flatmap(lambda base: st.fixed_dictionaries(
    {"lat": st.floats(-90.5, 90.5).map(str), "lon": st.floats(-180.5, 180.5).map(str)}).map(lambda at: {**at, **base}))
query_params = st.one_of(
    st.dictionaries(query_fields, query_values, max_size=12),
    plausible_query.flatmap(lambda base: st.dictionaries(query_fields, query_values, max_size=2)
                            .map(lambda noise: {**base, **noise})),
    plausible_query, plausible_query,
)


@FUZZ
@given(params=query_params)
def test_osmand_query_survives_plausible_requests(params):
    reading = outcome(osmand.decode_query, params)
    if reading is not None:
        assert_well_formed(reading, Source.PHONE)


@FUZZ
@given(params=st.dictionaries(json_values.filter(lambda key: isinstance(key, (str, int, type(None)))), json_values,
                              max_size=6) | json_values)
def test_osmand_query_survives_arbitrary_mappings(params):
    outcome(osmand.decode_query, params)


good_coords = st.fixed_dictionaries(
    {"latitude": st.floats(-90, 90), "longitude": st.floats(-180, 180)},
    optional={"speed": st.floats(-1, 80), "heading": st.floats(-1, 360), "altitude": st.floats(-400, 9000),
              "accuracy": st.floats(-1, 200) | st.integers(0, 50)},
)
coords = good_coords | good_coords | st.dictionaries(
    st.sampled_from(["latitude", "longitude", "speed", "heading", "altitude", "accuracy"]),
    st.floats() | st.integers(min_value=-(2**70), max_value=2**70) | json_values, max_size=6)
locations = st.fixed_dictionaries({"timestamp": timestamps}, optional={
    "coords": coords | json_values, "is_moving": st.booleans() | st.booleans() | json_values,
    "odometer": st.floats(0, 1e9) | st.floats() | st.integers() | json_values,
    "alarm": st.sampled_from(["sos", "tow"]) | json_values,
    "extras": st.dictionaries(st.sampled_from(["alarm", "x"]), json_values, max_size=2) | json_values,
    "battery": json_values,
})
located = st.fixed_dictionaries({"coords": good_coords}).flatmap(lambda at: locations.map(lambda rest: {**rest, **at}))
plausible_osmand_documents = st.fixed_dictionaries({
    "location": located | st.lists(located, min_size=1, max_size=3),
    "device_id": st.text(alphabet="0123456789abcdef", min_size=1, max_size=10),
})
osmand_documents = plausible_osmand_documents | plausible_osmand_documents | st.fixed_dictionaries({}, optional={
    "location": locations | st.lists(locations, max_size=3) | json_values,
    "device_id": st.text(alphabet="0123456789abcdef", min_size=1, max_size=10) | st.text(max_size=10) | json_values,
})


@FUZZ
@given(document=osmand_documents | st.lists(osmand_documents, max_size=3) | json_values)
def test_osmand_json_survives_plausible_documents(document):
    for reading in outcome(osmand.decode_json, as_payload(document)) or []:
        assert_well_formed(reading, Source.PHONE)


@FUZZ
@given(body=st.binary(max_size=300) | st.text(max_size=300))
def test_osmand_json_survives_arbitrary_bytes(body):
    outcome(osmand.decode_json, body)


# --- Teltonika --------------------------------------------------------------------------------------

@FUZZ
@given(data=st.binary(max_size=40) | st.builds(lambda n, digits: n.to_bytes(2, "big") + digits,
                                                 st.integers(0, 40), st.binary(max_size=20))
       | st.text(alphabet="0123456789", min_size=13, max_size=17).map(lambda d: len(d).to_bytes(2, "big") + d.encode()))
def test_read_imei_survives_arbitrary_bytes(data):
    imei = outcome(teltonika.read_imei, data)
    assert imei is None or (len(imei) == 15 and imei.isdigit())
    length = outcome(teltonika.imei_length, data)
    assert length is None or length == 17


@FUZZ
@given(buffer=st.binary(max_size=16) | st.binary(max_size=12).map(lambda tail: b"\x00\x00\x00\x00" + tail))
def test_frame_length_survives_arbitrary_bytes(buffer):
    length = outcome(teltonika.frame_length, buffer)
    assert length is None or 12 + 33 <= length <= 12 + teltonika.MAX_DATA_LENGTH + 4


def with_crc(data: bytes) -> bytes:
    return b"\x00\x00\x00\x00" + len(data).to_bytes(4, "big") + data + teltonika.crc16_ibm(data).to_bytes(4, "big")


@FUZZ
@given(data=st.binary(max_size=200), crc_ok=st.booleans())
def test_decode_frame_survives_arbitrary_frames(data, crc_ok):
    frame = with_crc(data) if crc_ok else b"\x00\x00\x00\x00" + len(data).to_bytes(4, "big") + data + b"\x00" * 4
    packet = outcome(teltonika.decode_frame, frame)
    if packet is not None:
        for reading in outcome(teltonika.to_readings, IMEI, packet) or []:
            assert_well_formed(reading, Source.TRACKER)


@FUZZ
@given(datagram=st.binary(max_size=120))
def test_decode_datagram_survives_arbitrary_bytes(datagram):
    outcome(teltonika.decode_datagram, datagram)


# A strategy for structurally valid frames: what a device could really send, with random IO elements.

io_ids = st.integers(0, 255)
io_values = st.one_of(
    st.tuples(st.just(1), st.integers(0, 2**8 - 1)), st.tuples(st.just(2), st.integers(0, 2**16 - 1)),
    st.tuples(st.just(4), st.integers(0, 2**32 - 1)), st.tuples(st.just(8), st.integers(0, 2**64 - 1)),
)
well_known_io = st.sampled_from([16, 66, 239, 240, 246, 247, 252, 253])


@st.composite
def avl_records(draw, codec_id: int) -> dict:
    id_range = st.integers(0, 255 if codec_id == teltonika.CODEC_8 else 65535)
    io = draw(st.dictionaries(well_known_io | id_range, io_values, max_size=10))
    variable = {} if codec_id == teltonika.CODEC_8 else draw(
        st.dictionaries(id_range.filter(lambda i: i not in io), st.binary(max_size=12), max_size=3))
    return {
        "ms": draw(st.integers(0, 253402300799999)),
        "priority": draw(st.integers(0, 2)),
        "lon": draw(st.integers(-1_800_000_000, 1_800_000_000)),
        "lat": draw(st.integers(-900_000_000, 900_000_000)),
        "altitude": draw(st.integers(-(2**15), 2**15 - 1)),
        "angle": draw(st.integers(0, 360)),
        "satellites": draw(st.integers(0, 255)),
        "speed": draw(st.integers(0, 2**16 - 1)),
        "event": draw(well_known_io | id_range),
        "io": io,
        "variable": variable,
    }


def encode_record(record: dict, codec_id: int) -> bytes:
    width = 1 if codec_id == teltonika.CODEC_8 else 2

    def number(value: int) -> bytes:
        return value.to_bytes(width, "big")

    out = (record["ms"].to_bytes(8, "big") + bytes([record["priority"]])
           + record["lon"].to_bytes(4, "big", signed=True) + record["lat"].to_bytes(4, "big", signed=True)
           + record["altitude"].to_bytes(2, "big", signed=True) + record["angle"].to_bytes(2, "big")
           + bytes([record["satellites"]]) + record["speed"].to_bytes(2, "big")
           + number(record["event"]) + number(len(record["io"]) + len(record["variable"])))
    for size in (1, 2, 4, 8):
        group = {io_id: value for io_id, (width_of, value) in record["io"].items() if width_of == size}
        out += number(len(group)) + b"".join(number(i) + v.to_bytes(size, "big") for i, v in group.items())
    if codec_id == teltonika.CODEC_8_EXTENDED:
        out += len(record["variable"]).to_bytes(2, "big") + b"".join(
            i.to_bytes(2, "big") + len(v).to_bytes(2, "big") + v for i, v in record["variable"].items())
    return out


@st.composite
def valid_frames(draw) -> tuple[bytes, int, list[dict]]:
    codec_id = draw(st.sampled_from([teltonika.CODEC_8, teltonika.CODEC_8_EXTENDED]))
    records = draw(st.lists(avl_records(codec_id), min_size=1, max_size=4))
    data = bytes([codec_id, len(records)]) + b"".join(encode_record(r, codec_id) for r in records) + bytes([len(records)])
    return with_crc(data), codec_id, records


@FUZZ
@given(frame=valid_frames())
def test_structurally_valid_frames_decode_exactly(frame):
    raw, codec_id, records = frame
    assert teltonika.frame_length(raw) == len(raw)
    packet = teltonika.decode_frame(raw)  # a valid frame must never be refused
    assert packet.codec_id == codec_id and len(packet.records) == len(records)
    for record, expected in zip(packet.records, records):
        assert (record.timestamp - EPOCH) // timedelta(milliseconds=1) == expected["ms"]
        assert (record.priority, record.altitude, record.angle, record.satellites, record.speed) == (
            expected["priority"], expected["altitude"], expected["angle"], expected["satellites"], expected["speed"])
        assert (record.longitude, record.latitude) == (expected["lon"] / 1e7, expected["lat"] / 1e7)
        assert record.event_io_id == expected["event"]
        assert record.io == {**{i: v for i, (_, v) in expected["io"].items()}, **expected["variable"]}
    readings = outcome(teltonika.to_readings, IMEI, packet)
    if readings is not None:
        assert len(readings) == len(records)
        for reading in readings:
            assert_well_formed(reading, Source.TRACKER)
        assert len({reading.message_key for reading in readings}) == len({r.raw for r in packet.records})


@FUZZ
@given(frame=valid_frames(), position=st.integers(min_value=0), flip=st.integers(1, 255))
def test_corrupting_a_valid_frame_is_always_caught(frame, position, flip):
    raw = bytearray(frame[0])
    position %= len(raw)
    raw[position] ^= flip
    assert outcome(teltonika.decode_frame, bytes(raw)) is None


@FUZZ
@given(frame=valid_frames(), cut=st.integers(min_value=0))
def test_frame_length_on_partial_valid_frames(frame, cut):
    raw = frame[0]
    prefix = raw[: cut % len(raw)]
    assert teltonika.frame_length(prefix) == (None if len(prefix) < 8 else len(raw))
    assert outcome(teltonika.decode_frame, prefix) is None


@FUZZ
@given(imei=st.text(max_size=20) | st.just(IMEI), frame=valid_frames())
def test_to_readings_survives_any_imei(imei, frame):
    outcome(teltonika.to_readings, imei, teltonika.decode_frame(frame[0]))
