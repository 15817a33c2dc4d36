"""One snapshot of a simulated car, said the way each kind of device says it.

* VSS JSON — the embedded unit: a flat sample with an ISO timestamp, VSS paths and ``events``.
* OsmAnd — the driver's phone running Traccar Client: query parameters, speed in knots, Unix
  seconds, and Traccar's alarm names (``accident``, ``hardBraking``) for the events a phone reports.
* Codec 8 — an FMB tracker: GPS element plus the common IO ids (ignition 239, movement 240,
  odometer 16, external voltage 66, crash 247, green-driving type 253).

A phone and a tracker know less than the car: no trouble codes, tyres or airbag. Only what each
device can really sense is sent, so the stored data looks like what the field would produce.
"""

from __future__ import annotations

from forecourt.telematics.decoders import teltonika
from forecourt.telematics.readings import VehicleEvent
from forecourt.telematics.simulator.codec8 import Record
from forecourt.telematics.simulator.drive import Snapshot

KMH_PER_KNOT = 1.852
_OSMAND_ALARMS = {VehicleEvent.CRASH: "accident", VehicleEvent.HARSH_BRAKING: "hardBraking",
                  VehicleEvent.HARSH_ACCELERATION: "hardAcceleration", VehicleEvent.SOS: "sos"}
_GREEN_DRIVING_BRAKING = 2


def vss_sample(snapshot: Snapshot, *, message_id: int | None = None) -> dict[str, object]:
    sample: dict[str, object] = {
        "timestamp": snapshot.at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "Vehicle.CurrentLocation.Latitude": snapshot.latitude,
        "Vehicle.CurrentLocation.Longitude": snapshot.longitude,
        "Vehicle.CurrentLocation.Heading": snapshot.heading,
        "Vehicle.CurrentLocation.Altitude": snapshot.altitude,
        "Vehicle.Speed": snapshot.speed_kmh,
        "Vehicle.IsMoving": snapshot.moving,
        "Vehicle.TraveledDistance": snapshot.odometer_m,
        "Vehicle.Acceleration.Longitudinal": snapshot.acceleration,
        "Vehicle.LowVoltageSystemState": "ON" if snapshot.ignition else "OFF",
        "Vehicle.LowVoltageBattery.CurrentVoltage": snapshot.voltage,
        "Vehicle.Powertrain.FuelSystem.RelativeLevel": snapshot.fuel_percent,
        "Vehicle.Diagnostics.DTCList": list(snapshot.dtcs),
        "Vehicle.Cabin.Seat.Row1.DriverSide.Airbag.IsDeployed": snapshot.airbag_deployed,
    }
    for wheel, kpa in snapshot.tyres_kpa.items():
        sample[f"Vehicle.Chassis.Axle.{wheel}.Tire.Pressure"] = kpa
    if snapshot.events:
        sample["events"] = [event.value for event in snapshot.events]
    if message_id is not None:
        sample["id"] = message_id
    return sample


def osmand_query(snapshot: Snapshot, phone_id: str) -> dict[str, str]:
    params = {
        "id": phone_id,
        "timestamp": str(int(snapshot.at.timestamp())),
        "lat": f"{snapshot.latitude:.6f}",
        "lon": f"{snapshot.longitude:.6f}",
        "speed": f"{snapshot.speed_kmh / KMH_PER_KNOT:.4f}",
        "bearing": f"{snapshot.heading:.1f}",
        "altitude": f"{snapshot.altitude:.1f}",
        "accuracy": "8.0",
        "batt": "76.0",
    }
    alarms = [_OSMAND_ALARMS[e] for e in snapshot.events if e in _OSMAND_ALARMS]
    if alarms:
        params["alarm"] = ",".join(alarms)
    return params


def avl_record(snapshot: Snapshot) -> Record:
    io = {teltonika.IO_IGNITION: (1, int(snapshot.ignition)),
          teltonika.IO_MOVEMENT: (1, int(snapshot.moving)),
          teltonika.IO_EXTERNAL_VOLTAGE: (2, int(round(snapshot.voltage * 1000))),
          teltonika.IO_TOTAL_ODOMETER: (4, snapshot.odometer_m)}
    event_io, priority = 0, 0
    if VehicleEvent.IGNITION_ON in snapshot.events or VehicleEvent.IGNITION_OFF in snapshot.events:
        event_io, priority = teltonika.IO_IGNITION, 1
    if VehicleEvent.HARSH_BRAKING in snapshot.events:
        io[teltonika.IO_GREEN_DRIVING_TYPE] = (1, _GREEN_DRIVING_BRAKING)
        event_io, priority = teltonika.IO_GREEN_DRIVING_TYPE, 1
    if VehicleEvent.CRASH in snapshot.events:
        io[teltonika.IO_CRASH_DETECTION] = (1, 1)
        event_io, priority = teltonika.IO_CRASH_DETECTION, 1
    return Record(timestamp=snapshot.at, latitude=snapshot.latitude, longitude=snapshot.longitude,
                  altitude=int(snapshot.altitude), angle=int(snapshot.heading) % 360, satellites=11,
                  speed=int(round(snapshot.speed_kmh)), priority=priority, event_io_id=event_io, io=io)
