"""VSS JSON from embedded cars: the three shapes, time stamps, limits, and keys that survive redelivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from forecourt.telematics.decoders import vss_json
from forecourt.telematics.readings import DecodeError, Source, VehicleEvent

VIN = "WVWZZZ1JZXW000001"
AT = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
SAMPLE = {"timestamp": "2024-05-01T10:00:00Z", "Vehicle.Speed": 52.3,
          "Vehicle.CurrentLocation.Latitude": 48.1372, "Vehicle.CurrentLocation.Longitude": 11.5756}


def _payload(document) -> bytes:
    return json.dumps(document).encode()


def test_one_flat_sample():
    (reading,) = vss_json.decode(VIN.lower(), _payload({**SAMPLE, "events": ["sos"], "id": "msg-17"}))
    assert reading.source is Source.EMBEDDED and reading.device_id == VIN
    assert reading.measured_at == AT
    assert reading.signals == {"Vehicle.Speed": 52.3, "Vehicle.CurrentLocation.Latitude": 48.1372,
                               "Vehicle.CurrentLocation.Longitude": 11.5756}
    assert reading.events == (VehicleEvent.SOS,)
    assert len(reading.message_key) == 42 and reading.message_key.startswith(f"{int(AT.timestamp()):010x}")


def test_a_batch_object_and_a_bare_array_read_the_same():
    samples = [{**SAMPLE, "timestamp": 1714557600 + second, "Vehicle.Speed": 50.0 + second} for second in range(3)]
    batch = vss_json.decode(VIN, _payload({"samples": samples}))
    array = vss_json.decode(VIN, json.dumps(samples))
    assert batch == array
    assert [reading.signals["Vehicle.Speed"] for reading in batch] == [50.0, 51.0, 52.0]


@pytest.mark.parametrize("timestamp", [
    "2024-05-01T10:00:00Z", "2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00.000Z",
    1714557600, 1714557600.0, 1714557600000, "1714557600",
])
def test_time_stamps_in_every_accepted_form(timestamp):
    (reading,) = vss_json.decode(VIN, _payload({**SAMPLE, "timestamp": timestamp}))
    assert reading.measured_at == AT and reading.measured_at.tzinfo is UTC


def test_milliseconds_keep_their_fraction():
    (reading,) = vss_json.decode(VIN, _payload({**SAMPLE, "timestamp": 1714557600123}))
    assert reading.measured_at == datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize("timestamp, complaint", [
    ("2024-05-01T10:00:00", "no time zone"),
    ("yesterday", "neither epoch"),
    (-5, "before 1970"),
    (True, "boolean"),
    (10**17, "past the year 9999"),
    (None, "expected a time stamp"),
])
def test_bad_time_stamps(timestamp, complaint):
    with pytest.raises(DecodeError, match=complaint):
        vss_json.decode(VIN, _payload({**SAMPLE, "timestamp": timestamp}))


def test_an_unknown_path_is_rejected_by_name():
    with pytest.raises(DecodeError, match=r"unknown signal 'Vehicle\.Cabin\.Coffee\.Temperature'"):
        vss_json.decode(VIN, _payload({**SAMPLE, "Vehicle.Cabin.Coffee.Temperature": 80}))


def test_out_of_range_is_rejected_and_the_sample_is_named():
    samples = [SAMPLE, {**SAMPLE, "Vehicle.CurrentLocation.Latitude": 123.0}]
    with pytest.raises(DecodeError, match=r"sample 1: Vehicle\.CurrentLocation\.Latitude: 123\.0 is above the maximum 90"):
        vss_json.decode(VIN, _payload(samples))


def test_key_signals_beyond_v6_are_accepted():
    (reading,) = vss_json.decode(VIN, _payload({"timestamp": 1714557600, "Vehicle.Safety.Rollover": "DETECTED",
                                                 "Vehicle.OBD.DTCList": ["P0301"]}))
    assert reading.signals == {"Vehicle.Safety.Rollover": "DETECTED", "Vehicle.OBD.DTCList": ["P0301"]}


def test_message_keys_are_stable_across_redelivery_and_spelling():
    first = vss_json.decode(VIN, _payload(SAMPLE))[0].message_key
    reordered = dict(reversed(list(SAMPLE.items())))
    assert vss_json.decode(VIN, json.dumps(reordered, indent=2))[0].message_key == first
    assert vss_json.decode(VIN, _payload({**SAMPLE, "timestamp": 1714557600}))[0].message_key == first


def test_message_keys_differ_when_anything_differs():
    variants = [
        SAMPLE,
        {**SAMPLE, "Vehicle.Speed": 52.4},
        {**SAMPLE, "timestamp": "2024-05-01T10:00:01Z"},
        {**SAMPLE, "events": ["crash"]},
        {**SAMPLE, "id": "a"},
        {**SAMPLE, "id": "b"},
    ]
    keys = {vss_json.decode(VIN, _payload(variant))[0].message_key for variant in variants}
    keys.add(vss_json.decode("WVWZZZ1JZXW000002", _payload(SAMPLE))[0].message_key)
    assert len(keys) == len(variants) + 1


@pytest.mark.parametrize("payload, complaint", [
    (b"", "not valid JSON"),
    (b"\xff\xfe", "not valid UTF-8"),
    (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    (b'{"timestamp": 1, "Vehicle.Speed": 1, "Vehicle.Speed": 2}', "appears twice"),
    (b'{"timestamp": 1, "Vehicle.Speed": NaN}', "NaN"),
    (b'{"timestamp": 1, "Vehicle.Speed": 1e400}', "too large"),
    (b'"Vehicle.Speed"', "object or array"),
    (b"[]", "no samples"),
    (b'{"samples": {}}', "must be an array"),
    (b'{"samples": [], "vin": "x"}', "only 'samples'"),
    (b"[1]", "sample 0 must be a JSON object"),
    (b'{"Vehicle.Speed": 1}', "no 'timestamp'"),
    (b'{"timestamp": 1}', "neither signals nor events"),
    (b'{"timestamp": 1, "events": ["meteor"]}', "unknown event 'meteor'"),
    (b'{"timestamp": 1, "events": "sos"}', "'events' must be an array"),
    (b'{"timestamp": 1, "events": ["sos"], "id": {}}', "'id' must be"),
    (b'{"timestamp": 1, "Vehicle.Speed": {"value": 1}}', "expected a number"),
    (b'{"timestamp": 1, "Vehicle.Speed": [1]}', "expected a number"),
])
def test_refusals(payload, complaint):
    with pytest.raises(DecodeError, match=complaint):
        vss_json.decode(VIN, payload)


def test_size_and_count_limits():
    big = b'{"timestamp": 1, "Vehicle.VehicleIdentification.Model": "' + b"x" * vss_json.MAX_PAYLOAD_BYTES + b'"}'
    with pytest.raises(DecodeError, match="limit"):
        vss_json.decode(VIN, big)
    many = [{"timestamp": 1, "Vehicle.Speed": 1}] * (vss_json.MAX_SAMPLES + 1)
    with pytest.raises(DecodeError, match=f"the limit is {vss_json.MAX_SAMPLES}"):
        vss_json.decode(VIN, _payload(many))
    assert len(vss_json.decode(VIN, _payload(many[:-1]))) == vss_json.MAX_SAMPLES


def test_the_vin_must_look_like_one():
    for vin in ("", "WVWZZZ1JZXW00000", "WVWZZZ1JZXW0000001", "WVWZZZ1JZXWO00001", "WVWZZZ1JZXW00000-"):
        with pytest.raises(DecodeError, match="not a VIN"):
            vss_json.decode(vin, _payload(SAMPLE))


def test_topic_vin():
    assert vss_json.topic_vin(f"vehicles/{VIN}/telemetry") == VIN
    assert vss_json.topic_vin(f"vehicles/{VIN.lower()}/telemetry") == VIN
    assert vss_json.topic_vin("vehicles/1M8GDM9AXKP042788/telemetry") == "1M8GDM9AXKP042788"  # check digit not ours
    for topic in ("", f"vehicles/{VIN}", f"vehicles/{VIN}/telemetry/", f"/vehicles/{VIN}/telemetry",
                  f"cars/{VIN}/telemetry", f"vehicles/{VIN}/commands", "vehicles/+/telemetry", "vehicles/#"):
        with pytest.raises(DecodeError):
            vss_json.topic_vin(topic)


def test_refusals_are_safe_to_log():
    with pytest.raises(DecodeError) as raised:
        vss_json.decode(VIN, _payload({"timestamp": 1, "Vehicle.Speed\nERROR forged log line": 1}))
    assert "\n" not in str(raised.value) and "\\n" in str(raised.value)
    with pytest.raises(DecodeError) as raised:
        vss_json.decode(VIN, b'{"timestamp": "\\ud800\\u0000"}')
    assert str(raised.value).isprintable()
