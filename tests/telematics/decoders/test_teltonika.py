"""Teltonika Codec 8 / 8E against the public spec examples, byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from forecourt.telematics.decoders import teltonika
from forecourt.telematics.readings import DecodeError, Source, VehicleEvent

SHARED_DATA = (Path(__file__).resolve().parents[3] / "../shared/data").resolve()
EXAMPLES_FILE = SHARED_DATA / "teltonika" / "teltonika_spec_examples.json"
IMEI = "356307042441013"
# From the Traccar project's decoder tests (Apache-2.0), quoted in teltonika_spec_examples.md.
REAL_GPS_FRAME = bytes.fromhex(
    "000000000000004c08010000016818d500580009c28d9f1cb3757a00be00c60f0053000f06f0011503c80001011d00fc0007"
    "423799180053cdf80dce426f430f88190bb8560bb802f100005aa110002887e000010000ee8d")


def _examples() -> dict:
    assert EXAMPLES_FILE.exists(), f"reference data missing: {EXAMPLES_FILE} (shared/ must sit beside the repo)"
    return json.loads(EXAMPLES_FILE.read_text())


EXAMPLES = _examples()
TCP_EXAMPLES = [name for name, example in EXAMPLES.items()
                if isinstance(example, dict) and example.get("decoded", {}).get("transport") == "tcp"]


def _frame(name: str) -> bytes:
    return bytes.fromhex(EXAMPLES[name]["hex"])


def _assert_records_match(records, expected_records):
    assert len(records) == len(expected_records)
    for record, expected in zip(records, expected_records):
        assert int(record.timestamp.timestamp() * 1000) == expected["timestamp_ms"]
        assert record.timestamp == datetime.fromisoformat(expected["utc"])
        assert record.timestamp.tzinfo is not None and record.timestamp.utcoffset().total_seconds() == 0
        assert record.priority == expected["priority"]
        assert record.longitude == expected["longitude"]
        assert record.latitude == expected["latitude"]
        assert record.altitude == expected["altitude_m"]
        assert record.angle == expected["angle_deg"]
        assert record.satellites == expected["satellites"]
        assert record.speed == expected["speed_kmh"]
        assert record.event_io_id == expected["event_io_id"]
        assert record.io == {element["id"]: element["value"] for element in expected["io"]}
        assert len(record.io) == expected["n_total_io"]


@pytest.mark.parametrize("name", TCP_EXAMPLES)
def test_every_tcp_example_decodes_to_the_listed_values(name):
    frame, expected = _frame(name), EXAMPLES[name]["decoded"]
    assert teltonika.frame_length(frame) == len(frame) == 8 + expected["data_field_length"] + 4
    assert teltonika.crc16_ibm(frame[8:-4]) == int(expected["crc_computed"], 16) == int(expected["crc_field"], 16)
    packet = teltonika.decode_frame(frame)
    assert packet.codec_id == int(expected["codec_id"], 16)
    assert len(packet.records) == expected["number_of_data_1"] == expected["number_of_data_2"]
    _assert_records_match(packet.records, expected["records"])
    assert teltonika.ack(len(packet.records)) == bytes.fromhex(expected["server_ack_hex"])


def test_codec_8_extended_keeps_two_byte_ids_and_eight_byte_values():
    packet = teltonika.decode_frame(_frame("codec8e_example"))
    assert packet.codec_id == teltonika.CODEC_8_EXTENDED
    assert packet.records[0].io[11] == 893700218 and packet.records[0].io[16] == 22949000


def test_the_udp_example_decodes_and_is_acknowledged():
    example = EXAMPLES["codec8_udp_example"]
    datagram = teltonika.decode_datagram(bytes.fromhex(example["hex"]))
    decoded = example["decoded"]
    assert datagram.imei == decoded["imei"]
    assert datagram.packet_id == int(decoded["packet_id"], 16)
    assert datagram.avl_packet_id == decoded["avl_packet_id"]
    _assert_records_match(datagram.packet.records, decoded["records"])
    ack_key = next(key for key in decoded if key.startswith("server_ack_hex"))
    assert teltonika.udp_ack(datagram) == bytes.fromhex(decoded[ack_key])


def test_imei_handshake():
    handshake = EXAMPLES["imei_handshake"]
    message = bytes.fromhex(handshake["device_sends_hex"])
    assert teltonika.imei_length(message[:1]) is None
    assert teltonika.imei_length(message[:2]) == len(message)
    assert teltonika.read_imei(message) == handshake["imei"]
    assert teltonika.IMEI_ACCEPT == bytes.fromhex(handshake["server_accept_hex"])
    assert teltonika.IMEI_REJECT == bytes.fromhex(handshake["server_reject_hex"])


@pytest.mark.parametrize("message, complaint", [
    (b"\x00\x0f" + b"35630704244101", "truncated"),
    (b"\x00\x0f" + b"3563070424410130", "after the IMEI"),
    (b"\x00\x0e" + b"35630704244101", "15 digits"),
    (b"\x00\x0f" + b"35630704244101A", "ASCII digits"),
    (b"\x00", "truncated"),
])
def test_bad_imei_messages_are_refused(message, complaint):
    with pytest.raises(DecodeError, match=complaint):
        teltonika.read_imei(message)


def test_frame_length_waits_for_the_header_and_then_knows():
    frame = _frame("codec8_example1")
    assert teltonika.frame_length(b"") is None
    for cut in range(1, 8):
        assert teltonika.frame_length(frame[:cut]) is None
    for cut in (8, 9, 30, len(frame) - 1, len(frame)):
        assert teltonika.frame_length(frame[:cut]) == len(frame)
    assert teltonika.frame_length(frame + _frame("codec8_example2")) == len(frame)


@pytest.mark.parametrize("buffer, complaint", [
    (b"\x01", "preamble"),
    (b"\x00\x00\x05\x00\x00\x00\x00\x36", "preamble"),
    (b"\x00\x00\x00\x00\x00\x00\x00\x00", "shorter than the smallest"),
    (b"\x00\x00\x00\x00\x00\x10\x00\x01", "limit"),
    (b"\x00\x00\x00\x00\xff\xff\xff\xff", "limit"),
])
def test_frame_length_refuses_garbage(buffer, complaint):
    with pytest.raises(DecodeError, match=complaint):
        teltonika.frame_length(buffer)


def test_crc_is_crc16_arc():
    assert teltonika.crc16_ibm(b"123456789") == 0xBB3D  # the catalogue check value of CRC-16/ARC
    assert teltonika.crc16_ibm(b"") == 0


@pytest.mark.parametrize("position", [8, 20, 40, -5, -1])
def test_a_flipped_byte_is_a_crc_error(position):
    frame = bytearray(_frame("codec8_example1"))
    frame[position] ^= 0x40
    with pytest.raises(DecodeError, match="CRC mismatch"):
        teltonika.decode_frame(bytes(frame))


def _with_crc(data: bytes) -> bytes:
    return b"\x00\x00\x00\x00" + len(data).to_bytes(4, "big") + data + teltonika.crc16_ibm(data).to_bytes(4, "big")


def test_each_structural_failure_names_itself():
    data = _frame("codec8_example3_two_records")[8:-4]
    with pytest.raises(DecodeError, match="codec id 0x0C"):
        teltonika.decode_frame(_with_crc(b"\x0c" + data[1:]))
    with pytest.raises(DecodeError, match="number of data 2 is 1 but number of data 1 is 2"):
        teltonika.decode_frame(_with_crc(data[:-1] + b"\x01"))
    with pytest.raises(DecodeError, match="data ends inside"):
        teltonika.decode_frame(_with_crc(data[:1] + b"\x03" + data[2:]))
    with pytest.raises(DecodeError, match="unexpected bytes after number of data 2"):
        teltonika.decode_frame(_with_crc(data[:1] + b"\x01" + data[2:34] + b"\x01\x99"))
    with pytest.raises(DecodeError, match="truncated"):
        teltonika.decode_frame(_frame("codec8_example1")[:-1])
    with pytest.raises(DecodeError, match="after its CRC"):
        teltonika.decode_frame(_frame("codec8_example1") + b"\x00")


def test_a_real_gps_record_maps_to_vss():
    packet = teltonika.decode_frame(REAL_GPS_FRAME)
    (reading,) = teltonika.to_readings(IMEI, packet)
    assert reading.source is Source.TRACKER and reading.device_id == IMEI
    assert reading.measured_at == datetime(2019, 1, 4, 12, 27, 19, tzinfo=UTC)
    assert reading.signals == {
        "Vehicle.CurrentLocation.Latitude": 48.1523066,
        "Vehicle.CurrentLocation.Longitude": 16.3745183,
        "Vehicle.CurrentLocation.Altitude": 190.0,
        "Vehicle.CurrentLocation.Heading": 198.0,
        "Vehicle.Speed": 83.0,
        "Vehicle.IsMoving": True,
        "Vehicle.TraveledDistance": 2656224,
        "Vehicle.LowVoltageBattery.CurrentVoltage": 14.233,
    }
    assert reading.events == ()  # IO 252 (unplug) is present but 0


def test_no_fix_means_no_position_but_the_reading_is_kept():
    packet = teltonika.decode_frame(_frame("codec8_example3_two_records"))
    readings = teltonika.to_readings(IMEI, packet)
    assert [reading.signals for reading in readings] == [{}, {}]
    first = teltonika.to_readings(IMEI, teltonika.decode_frame(_frame("codec8_example1")))[0]
    assert first.signals == {"Vehicle.LowVoltageBattery.CurrentVoltage": 24.079}


def test_message_keys_follow_the_record_bytes():
    packet = teltonika.decode_frame(_frame("codec8_example3_two_records"))
    keys = [reading.message_key for reading in teltonika.to_readings(IMEI, packet)]
    assert len(set(keys)) == 2
    assert keys == [reading.message_key for reading in teltonika.to_readings(IMEI, packet)]
    assert keys != [reading.message_key for reading in teltonika.to_readings("356307042441014", packet)]


def _record(*, priority=1, event_io_id=0, io1=(), io2=(), io4=(), gps=b"\x00" * 15) -> bytes:
    body = (1560161086000).to_bytes(8, "big") + bytes([priority]) + gps + bytes([event_io_id])
    body += bytes([len(io1) + len(io2) + len(io4)])
    for size, elements in ((1, io1), (2, io2), (4, io4)):
        body += bytes([len(elements)]) + b"".join(bytes([i]) + v.to_bytes(size, "big") for i, v in elements)
    return body + b"\x00"


def _packet_of(*records: bytes) -> teltonika.AvlPacket:
    return teltonika.decode_frame(_with_crc(b"\x08" + bytes([len(records)]) + b"".join(records)
                                            + bytes([len(records)])))


@pytest.mark.parametrize("record, events, signals", [
    (_record(priority=2), (VehicleEvent.SOS,), {}),
    (_record(event_io_id=247, io1=[(247, 1)]), (VehicleEvent.CRASH,), {}),
    (_record(event_io_id=247, io1=[(247, 2)]), (VehicleEvent.CRASH,), {}),
    (_record(io1=[(246, 1)]), (VehicleEvent.TOW,), {}),
    (_record(io1=[(252, 1)]), (VehicleEvent.POWER_CUT,), {}),
    (_record(io1=[(253, 1)]), (VehicleEvent.HARSH_ACCELERATION,), {}),
    (_record(io1=[(253, 2)]), (VehicleEvent.HARSH_BRAKING,), {}),
    (_record(io1=[(253, 3)]), (VehicleEvent.HARSH_CORNERING,), {}),
    (_record(event_io_id=239, io1=[(239, 1)]), (VehicleEvent.IGNITION_ON,), {"Vehicle.LowVoltageSystemState": "ON"}),
    (_record(event_io_id=239, io1=[(239, 0)]), (VehicleEvent.IGNITION_OFF,), {"Vehicle.LowVoltageSystemState": "OFF"}),
    (_record(io1=[(239, 1), (240, 0)]), (), {"Vehicle.LowVoltageSystemState": "ON", "Vehicle.IsMoving": False}),
    (_record(io2=[(66, 12600)], io4=[(16, 1000)]), (),
     {"Vehicle.LowVoltageBattery.CurrentVoltage": 12.6, "Vehicle.TraveledDistance": 1000}),
])
def test_well_known_io_ids_become_events_and_signals(record, events, signals):
    (reading,) = teltonika.to_readings(IMEI, _packet_of(record))
    assert reading.events == events
    assert reading.signals == signals


def test_negative_coordinates_and_altitude_keep_their_sign():
    gps = ((-433_000_000).to_bytes(4, "big", signed=True) + (-226_000_000).to_bytes(4, "big", signed=True)
           + (-12).to_bytes(2, "big", signed=True) + (359).to_bytes(2, "big") + bytes([7]) + (40).to_bytes(2, "big"))
    (record,) = _packet_of(_record(gps=gps)).records
    assert (record.longitude, record.latitude, record.altitude, record.angle) == (-43.3, -22.6, -12, 359)


def test_coordinates_off_the_planet_are_refused():
    gps = (0).to_bytes(4, "big") + (950_000_000).to_bytes(4, "big") + bytes(7)
    with pytest.raises(DecodeError, match="not a place on Earth"):
        _packet_of(_record(gps=gps))


def test_to_readings_wants_an_imei():
    packet = teltonika.decode_frame(_frame("codec8_example2"))
    with pytest.raises(DecodeError, match="IMEI"):
        teltonika.to_readings("12345", packet)


def test_ack_is_four_bytes_big_endian():
    assert teltonika.ack(0) == b"\x00\x00\x00\x00"
    assert teltonika.ack(2) == b"\x00\x00\x00\x02"
    with pytest.raises(ValueError):
        teltonika.ack(-1)
