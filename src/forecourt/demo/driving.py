"""Weeks of driving for the cars whose owners share it: trips, positions, a score and the car's last state.

Without it the demo's driver opens her car and finds no trip, no map and no score, and the insurer
sees customers who allowed a driving score that has nothing to score. So the cars of the two demo
drivers and of every customer who allowed an insurer their driving behaviour report as real cars
would: ignition on, a fix every minute while they drive, ignition off. Positions are written only
where the owner allows the carmaker location services (as ingest would); elsewhere the car reports
its speed alone, so it still has trips and a score, only without a route. The trips themselves are
cut by ``telematics.trips`` from these readings, the same code that cuts a live car's.

The last reading is hours old, never "now": no demo car pretends to be on the road unless the
simulator really drives it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from math import cos, radians
from random import Random

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from forecourt.consent.models import Grant
from forecourt.customers.models import Customer
from forecourt.parties import markets
from forecourt.parties.models import Organization
from forecourt.telematics import trips as trips_service
from forecourt.telematics.models import Position, Sample, TwinSignal, VehicleEventRecord
from forecourt.telematics.readings import VehicleEvent
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.models import Ownership, Trim, Vehicle

DEMO_DRIVERS = ("driver@example.com", "driver@example.kr")
DAYS, SHARED_DAYS = 28, 14  # the demo drivers' four weeks; two for the others (the score looks back 30 days)
STEP = timedelta(seconds=60)  # as long as a speed is trusted for (``trips.MAX_STEP``)
SPEED, ODOMETER = "Vehicle.Speed", "Vehicle.TraveledDistance"
LATITUDE, LONGITUDE = "Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude"
TYRES = [f"Vehicle.Chassis.Axle.Row{row}.Wheel.{side}.Tire.Pressure" for row in (1, 2) for side in ("Left", "Right")]


def drivers_cars(session: Session) -> list[int]:
    """The demo drivers' current cars: the ones a demo drives first, so each driver sees their own car move."""
    drivers = select(Customer.id).where(Customer.email.in_(DEMO_DRIVERS))
    return sorted(session.scalars(select(Ownership.vehicle_id).where(Ownership.ended_at.is_(None),
                                                                     Ownership.customer_id.in_(drivers))))


def chosen_cars(session: Session, now: datetime) -> list[int]:
    """The demo drivers' cars and the cars of owners who allowed an insurer their driving behaviour."""
    sharing = select(Grant.customer_id).where(
        Grant.purpose_code == "driving_behaviour_insurance", Grant.withdrawn_at.is_(None),
        or_(Grant.expires_at.is_(None), Grant.expires_at > now))
    drivers = select(Customer.id).where(Customer.email.in_(DEMO_DRIVERS))
    return sorted(set(session.scalars(select(Ownership.vehicle_id).where(
        Ownership.ended_at.is_(None), or_(Ownership.customer_id.in_(sharing), Ownership.customer_id.in_(drivers))))))


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    """Writes the readings, cuts the trips from them and returns row counts by table."""
    vehicle_ids = chosen_cars(session, now)
    if not vehicle_ids:
        return {}
    drivers = set(session.scalars(select(Customer.id).where(Customer.email.in_(DEMO_DRIVERS))))
    cars = session.execute(
        select(Vehicle.id, Ownership.customer_id, Ownership.started_at, Trim.propulsion, Organization.latitude,
               Organization.longitude, Organization.market)
        .join(Ownership, (Ownership.vehicle_id == Vehicle.id) & Ownership.ended_at.is_(None))
        .join(Trim, Trim.id == Vehicle.trim_id)
        .join(Organization, Organization.id == func.coalesce(Vehicle.service_dealer_id, Vehicle.selling_dealer_id))
        .where(Vehicle.id.in_(vehicle_ids))).all()
    located = set(session.scalars(select(Grant.customer_id).where(
        Grant.purpose_code == "location_services", Grant.withdrawn_at.is_(None),
        or_(Grant.expires_at.is_(None), Grant.expires_at > now))))
    odometers = vehicles_service.likely_odometers_km(session=session, vehicle_ids=vehicle_ids, today=now.date())
    positions, samples, events, twin = [], [], [], []
    for car in cars:
        home = (car.latitude + rng.uniform(-0.04, 0.04), car.longitude + rng.uniform(-0.06, 0.06))
        days = DAYS if car.customer_id in drivers else SHARED_DAYS
        first = max(now - timedelta(days=days), car.started_at + timedelta(days=1))
        drive = _Drive(rng=Random(rng.getrandbits(32)), vehicle_id=car.id, home=home, with_position=car.customer_id
                       in located, zone=markets.zone_of_market(car.market), sporty=rng.random() < 0.3)
        drive.days(first, now - timedelta(hours=rng.uniform(2, 6)))
        positions += drive.positions
        samples += drive.samples
        events += drive.events
        km = odometers.get(car.id, 0.0)
        twin += _twin(car.id, drive, rng, km=km, electric=car.propulsion in ("electric", "plug_in_hybrid"),
                      fuel=car.propulsion != "electric")
    for model, rows in ((Position, positions), (Sample, samples), (VehicleEventRecord, events), (TwinSignal, twin)):
        for start in range(0, len(rows), 5000):
            session.execute(insert(model), rows[start:start + 5000])
    session.flush()
    made = trips_service.refresh(session=session, vehicle_ids=vehicle_ids)
    return {"telematics_positions": len(positions), "telematics_trips": sum(len(t) for t in made.values())}


class _Drive:
    """One car's weeks: a commute on most weekdays, errands, now and then a motorway trip."""

    def __init__(self, *, rng: Random, vehicle_id: int, home: tuple[float, float], with_position: bool, zone,
                 sporty: bool):
        self.rng, self.vehicle_id, self.home, self.with_position, self.zone = rng, vehicle_id, home, with_position, zone
        self.sporty = sporty
        self.work = (home[0] + rng.uniform(-0.08, 0.08), home[1] + rng.uniform(-0.12, 0.12))
        self.positions: list[dict] = []
        self.samples: list[dict] = []
        self.events: list[dict] = []
        self.at_place = home
        self.last_at: datetime | None = None

    def days(self, first: datetime, last: datetime) -> None:
        day = first.astimezone(self.zone).date()
        while True:
            local = datetime.combine(day, datetime.min.time(), tzinfo=self.zone)
            plan = []
            if day.weekday() < 5 and self.rng.random() < 0.8:
                plan += [(7.2 + self.rng.random(), self.work), (16.5 + self.rng.random() * 2, self.home)]
            if self.rng.random() < 0.35:
                far = self.rng.random() < 0.2
                span = 0.9 if far else 0.08
                away = (self.home[0] + self.rng.uniform(-span, span) * 0.6, self.home[1] + self.rng.uniform(-span, span))
                plan += [(10 + self.rng.random() * 8 if day.weekday() >= 5 else 18 + self.rng.random() * 2.5, away),
                         (None, self.home)]
            for hour, target in plan:
                start = self.last_at + timedelta(minutes=self.rng.uniform(40, 150)) if hour is None else \
                    local + timedelta(hours=hour)
                if self.last_at is not None and start <= self.last_at + timedelta(minutes=10):
                    start = self.last_at + timedelta(minutes=20)
                if start >= last:
                    return
                self.trip(start, target)
            day += timedelta(days=1)

    def trip(self, start: datetime, target: tuple[float, float]) -> None:
        rng, (lat, lon) = self.rng, self.at_place
        self._event(VehicleEvent.IGNITION_ON, start, lat, lon)
        at, speed = start, 0.0
        km_per_lon = 111.32 * cos(radians(lat))
        for _ in range(360):  # at most six hours
            d_lat, d_lon = (target[0] - lat) * 111.32, (target[1] - lon) * km_per_lon
            left = (d_lat ** 2 + d_lon ** 2) ** 0.5
            if left < 0.2:
                break
            cruising = 125 if left > 15 else 85 if left > 4 else 45
            if self.sporty and left > 15 and rng.random() < 0.3:
                cruising = 142
            speed = max(8.0, min(cruising, speed + rng.uniform(-12, 18)))
            if rng.random() < 0.06 and left > 1:  # a red light
                speed = 0.0
            at += STEP
            step = min(left, speed * STEP.total_seconds() / 3600)
            lat += d_lat / left * step / 111.32 + rng.uniform(-0.0002, 0.0002)
            lon += d_lon / left * step / km_per_lon + rng.uniform(-0.0002, 0.0002)
            self._reading(at, lat, lon, speed)
            if self.sporty and speed > 30 and rng.random() < 0.012:
                self._event(VehicleEvent.HARSH_BRAKING, at, lat, lon, speed)
        at += STEP
        self._reading(at, target[0], target[1], 0.0)
        at += timedelta(seconds=20)
        self._event(VehicleEvent.IGNITION_OFF, at, target[0], target[1])
        self.at_place, self.last_at = target, at

    def _reading(self, at: datetime, lat: float, lon: float, speed: float) -> None:
        if self.with_position:
            self.positions.append(dict(vehicle_id=self.vehicle_id, measured_at=at, latitude=round(lat, 6),
                                       longitude=round(lon, 6), speed_kmh=round(speed, 1), heading=None,
                                       altitude=None, accuracy_m=5.0, source="embedded"))
        else:
            self.samples.append(dict(vehicle_id=self.vehicle_id, measured_at=at, path=SPEED, value=round(speed, 1)))

    def _event(self, kind: VehicleEvent, at: datetime, lat: float, lon: float, speed: float = 0.0) -> None:
        key = hashlib.sha256(f"demo:{self.vehicle_id}:{kind.value}:{at.isoformat()}".encode()).hexdigest()
        self.events.append(dict(vehicle_id=self.vehicle_id, kind=kind.value, measured_at=at,
                                latitude=lat if self.with_position else None,
                                longitude=lon if self.with_position else None,
                                speed_kmh=speed, source="embedded", message_key=key))


def _twin(vehicle_id: int, drive: _Drive, rng: Random, *, km: float, electric: bool, fuel: bool) -> list[dict]:
    """The car's state as it last reported, parked where its last trip ended."""
    at = drive.last_at
    if at is None:
        return []
    values: dict[str, object] = {SPEED: 0.0, ODOMETER: round(km * 1000),
                                 "Vehicle.LowVoltageBattery.CurrentVoltage": round(rng.uniform(12.4, 12.8), 2)}
    for path in TYRES:
        values[path] = round(rng.uniform(235, 250))
    if fuel:
        values["Vehicle.Powertrain.FuelSystem.RelativeLevel"] = round(rng.uniform(25, 90))
    if electric:
        values["Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed"] = round(rng.uniform(40, 95))
    if drive.with_position:
        values[LATITUDE], values[LONGITUDE] = round(drive.at_place[0], 6), round(drive.at_place[1], 6)
    return [dict(vehicle_id=vehicle_id, path=path, value=value, measured_at=at) for path, value in values.items()]
