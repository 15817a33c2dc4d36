"""OsmAnd as Traccar Client sends it: the classic query form and the JSON form, with realistic requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from forecourt.core.clock import frozen_at
from forecourt.telematics.decoders import osmand
from forecourt.telematics.readings import DecodeError, Source, VehicleEvent

AT = datetime(2024, 6, 10, 6, 13, 20, tzinfo=UTC)

# Traccar Client for Android: speed in knots (m/s x 1.943844), battery in percent, one position per request.
ANDROID = {"id": "814324", "timestamp": "1718000000", "lat": "48.8583701", "lon": "2.2944813",
           "speed": "7.5", "bearing": "271.5", "altitude": "35.29999923706055", "accuracy": "12.0", "batt": "87.0"}
# Transistorsoft's location as Traccar Client 9 posts it.
LOCATION = {
    "event": "motionchange", "is_moving": True, "uuid": "2a8e5f1c-0b7d-4c21-9a3e-6c1f0d9b7e55",
    "timestamp": "2024-06-10T06:13:20.000Z", "odometer": 12345.6,
    "coords": {"latitude": 48.8583701, "longitude": 2.2944813, "accuracy": 4.7, "speed": 13.89,
               "speed_accuracy": 0.5, "heading": 271.5, "heading_accuracy": 10, "altitude": 35.3,
               "altitude_accuracy": 3, "ellipsoidal_altitude": 35.3},
    "activity": {"type": "in_vehicle", "confidence": 100},
    "battery": {"is_charging": False, "level": 0.87},
    "extras": {},
}


def test_an_android_request():
    reading = osmand.decode_query(ANDROID)
    assert reading.source is Source.PHONE and reading.device_id == "814324"
    assert reading.measured_at == AT
    assert reading.signals == pytest.approx({
        "Vehicle.CurrentLocation.Latitude": 48.8583701,
        "Vehicle.CurrentLocation.Longitude": 2.2944813,
        "Vehicle.CurrentLocation.Heading": 271.5,
        "Vehicle.CurrentLocation.Altitude": 35.29999923706055,
        "Vehicle.CurrentLocation.HorizontalAccuracy": 12.0,
        "Vehicle.Speed": 7.5 * 1.852,
    })
    assert reading.events == ()


def test_speed_is_knots_converted_to_kmh():
    assert osmand.decode_query({**ANDROID, "speed": "10"}).signals["Vehicle.Speed"] == pytest.approx(18.52)
    assert osmand.decode_query({**ANDROID, "speed": "0.0"}).signals["Vehicle.Speed"] == 0.0


def test_battery_and_charging_are_not_vehicle_signals():
    reading = osmand.decode_query({**ANDROID, "batt": "12", "charge": "true", "driverUniqueId": "D-1",
                                   "hdop": "0.9", "mock": "true", "whatever": "x"})
    assert reading.signals == osmand.decode_query(ANDROID).signals


@pytest.mark.parametrize("timestamp", ["1718000000", "1718000000000", "2024-06-10T06:13:20Z",
                                       "2024-06-10T08:13:20+02:00", "2024-06-10 06:13:20"])
def test_time_stamps_in_seconds_milliseconds_and_iso(timestamp):
    assert osmand.decode_query({**ANDROID, "timestamp": timestamp}).measured_at == AT


def test_sos_alarm_becomes_an_event_and_unknown_alarms_are_ignored():
    assert osmand.decode_query({**ANDROID, "alarm": "sos"}).events == (VehicleEvent.SOS,)
    assert osmand.decode_query({**ANDROID, "alarm": "lowBattery"}).events == ()
    assert osmand.decode_query({**ANDROID, "alarm": "accident,sos"}).events == (VehicleEvent.CRASH, VehicleEvent.SOS)


def test_an_sos_without_a_fix_still_gets_through():
    reading = osmand.decode_query({"id": "814324", "timestamp": "1718000000", "alarm": "sos"})
    assert reading.events == (VehicleEvent.SOS,) and reading.signals == {}


def test_in_band_unknowns_are_dropped():
    ios = {**ANDROID, "speed": "-1.94384", "bearing": "-1", "accuracy": "0"}
    signals = osmand.decode_query(ios).signals
    assert "Vehicle.Speed" not in signals and "Vehicle.CurrentLocation.Heading" not in signals
    assert "Vehicle.CurrentLocation.HorizontalAccuracy" not in signals
    no_fix = osmand.decode_query({**ANDROID, "lat": "0", "lon": "0"}).signals
    assert not any(path.startswith("Vehicle.CurrentLocation") for path in no_fix)


def test_deviceid_heading_and_location_aliases():
    reading = osmand.decode_query({"deviceid": "abc", "timestamp": "1718000000", "location": "48.1,11.5",
                                   "heading": "90"})
    assert reading.device_id == "abc"
    assert reading.signals == {"Vehicle.CurrentLocation.Latitude": 48.1, "Vehicle.CurrentLocation.Longitude": 11.5,
                               "Vehicle.CurrentLocation.Heading": 90.0}


@pytest.mark.parametrize("change, complaint", [
    ({"lat": "90.5"}, r"lat: Vehicle\.CurrentLocation\.Latitude: 90\.5 is above the maximum 90"),
    ({"lon": "-180.5"}, r"lon: Vehicle\.CurrentLocation\.Longitude: -180\.5 is below the minimum -180"),
    ({"lat": "nan"}, "lat: 'nan' is not a number"),
    ({"speed": "fast"}, "speed: 'fast' is not a number"),
    ({"bearing": "400"}, "above the maximum 360"),
    ({"timestamp": "2024-06-10T06:13:20"}, "no time zone"),
    ({"batt": "250"}, r"batt: 250\.0 is not a battery level"),
    ({"charge": "maybe"}, "charge: 'maybe' is neither true nor false"),
    ({"id": "", "deviceid": ""}, "no 'id'"),
    ({"id": "a\nb"}, "control characters"),
    ({"lon": ""}, "'lat' and 'lon' come together"),
    ({"batt": "x" * 2000}, "longer than"),
])
def test_query_refusals(change, complaint):
    with pytest.raises(DecodeError, match=complaint):
        osmand.decode_query({**ANDROID, **change})


def test_a_request_with_nothing_to_store_is_refused():
    with pytest.raises(DecodeError, match="carries no position, speed, motion, alarm or battery status"):
        osmand.decode_query({"id": "814324", "timestamp": "1718000000", "cell": "262,1,1234,5678"})


def test_a_request_without_a_timestamp_is_taken_at_the_time_received():
    """Traccar Client leaves the time out when the phone has no fix time; Traccar's server then uses
    the time of receipt, and so does Forecourt."""
    with frozen_at(AT):
        reading = osmand.decode_query({key: value for key, value in ANDROID.items() if key != "timestamp"})
        empty = osmand.decode_query({**ANDROID, "timestamp": ""})
    assert reading.measured_at == empty.measured_at == AT
    assert reading.signals["Vehicle.CurrentLocation.Latitude"] == 48.8583701


def test_a_status_report_without_a_position_is_status_never_a_position():
    """Battery, charging and motion with cell towers and Wi-Fi but no fix: the phone's state."""
    reading = osmand.decode_query({"id": "814324", "timestamp": "1718000000", "batt": "41.5", "charge": "true",
                                   "motion": "false", "cell": "262,1,1234,5678,-71", "wifi": "aa:bb:cc:dd:ee:ff,-60"})
    assert reading.signals == {} and reading.events == ()
    assert reading.status == {"battery_percent": 41.5, "charging": True, "motion": False}
    with_alarm = osmand.decode_query({"id": "814324", "timestamp": "1718000000", "batt": "41", "alarm": "sos"})
    assert with_alarm.events == (VehicleEvent.SOS,) and "Vehicle.CurrentLocation.Latitude" not in with_alarm.signals
    assert osmand.decode_query(ANDROID).status == {"battery_percent": 87.0}  # beside a position, too
    assert osmand.decode_query({**ANDROID, "batt": "-1"}).status == {}  # the phone could not read it


def test_json_status_and_a_location_without_coords_or_time():
    (reading,) = osmand.decode_json(json.dumps({"location": LOCATION, "device_id": "814324"}))
    assert reading.status == {"battery_percent": 87.0, "charging": False, "motion": True}
    bare = {"is_moving": False, "battery": {"level": 0.5, "is_charging": True}}
    with frozen_at(AT):
        (status,) = osmand.decode_json(json.dumps({"location": bare, "device_id": "814324"}))
    assert status.measured_at == AT and status.status == {"battery_percent": 50.0, "charging": True, "motion": False}
    assert not any(path.startswith("Vehicle.CurrentLocation") for path in status.signals)


def test_query_message_keys_are_stable_and_distinct():
    key = osmand.decode_query(ANDROID).message_key
    assert osmand.decode_query(dict(reversed(list(ANDROID.items())))).message_key == key
    assert osmand.decode_query({**ANDROID, "timestamp": "1718000000000"}).message_key == key
    others = [{**ANDROID, "lat": "48.8583702"}, {**ANDROID, "timestamp": "1718000001"}, {**ANDROID, "id": "814325"},
              {**ANDROID, "alarm": "sos"}]
    assert len({key} | {osmand.decode_query(other).message_key for other in others}) == 5


def test_a_traccar_client_9_json_post():
    (reading,) = osmand.decode_json(json.dumps({"location": LOCATION, "device_id": "814324"}))
    assert reading.source is Source.PHONE and reading.device_id == "814324"
    assert reading.measured_at == AT
    assert reading.signals == pytest.approx({
        "Vehicle.CurrentLocation.Latitude": 48.8583701,
        "Vehicle.CurrentLocation.Longitude": 2.2944813,
        "Vehicle.CurrentLocation.Altitude": 35.3,
        "Vehicle.CurrentLocation.Heading": 271.5,
        "Vehicle.CurrentLocation.HorizontalAccuracy": 4.7,
        "Vehicle.Speed": 13.89 * 3.6,  # m/s in this form
        "Vehicle.IsMoving": True,
        "Vehicle.TraveledDistance": 12346,
    })
    assert reading.events == ()


def test_json_alarm_from_location_or_extras():
    via_extras = {**LOCATION, "extras": {"alarm": "sos"}}
    via_location = {**LOCATION, "alarm": "sos"}
    for location in (via_extras, via_location):
        (reading,) = osmand.decode_json(json.dumps({"location": location, "device_id": "814324"}))
        assert reading.events == (VehicleEvent.SOS,)


def test_json_batches_in_both_shapes():
    second = {**LOCATION, "timestamp": "2024-06-10T06:13:21.000Z"}
    batched = osmand.decode_json(json.dumps({"location": [LOCATION, second], "device_id": "814324"}))
    listed = osmand.decode_json(json.dumps([{"location": LOCATION, "device_id": "814324"},
                                            {"location": second, "device_id": "814324"}]).encode())
    assert batched == listed
    assert [reading.measured_at.second for reading in batched] == [20, 21]
    assert batched[0].message_key != batched[1].message_key


def test_json_unknown_speed_and_heading_are_dropped():
    coords = {**LOCATION["coords"], "speed": -1, "heading": -1}
    (reading,) = osmand.decode_json(json.dumps({"location": {**LOCATION, "coords": coords}, "device_id": "x"}))
    assert "Vehicle.Speed" not in reading.signals and "Vehicle.CurrentLocation.Heading" not in reading.signals


@pytest.mark.parametrize("document, complaint", [
    ({"location": LOCATION}, "no 'device_id'"),
    ({"device_id": "x"}, "no 'location'"),
    ({"location": {**LOCATION, "timestamp": None}, "device_id": "x"}, "expected a time stamp"),
    ({"location": {**LOCATION, "coords": {"latitude": 91, "longitude": 0}}, "device_id": "x"},
     r"coords\.latitude: .*above the maximum 90"),
    ({"location": {**LOCATION, "coords": {"latitude": "48", "longitude": 2}}, "device_id": "x"},
     "'coords.latitude' must be a number"),
    ({"location": {**LOCATION, "coords": {"longitude": 2}}, "device_id": "x"}, "no 'latitude'"),
    ({"location": {**LOCATION, "is_moving": "yes"}, "device_id": "x"}, "'is_moving' must be true or false"),
    ({"location": {**LOCATION, "odometer": -5}, "device_id": "x"}, "odometer"),
    ({"location": {**LOCATION, "battery": {"level": 1.5}}, "device_id": "x"}, "battery.level: 150.0"),
    ({"location": {**LOCATION, "battery": 87}, "device_id": "x"}, "'battery' must be an object"),
    ({"location": [], "device_id": "x"}, "no locations"),
    ([], "no locations"),
    ([1], "item 0"),
    ("hello", "expected an object"),
])
def test_json_refusals(document, complaint):
    with pytest.raises(DecodeError, match=complaint):
        osmand.decode_json(json.dumps(document))
