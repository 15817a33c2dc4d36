"""How a simulated car moves and what goes wrong with it, second by second.

The car integrates a simple longitudinal model once per simulated second: it accelerates towards a
target speed that depends on where it is (town streets near either end, open road in between, the
odd jam), brakes smoothly for red lights, breaks and the destination, and now and then brakes hard.
Position comes from the distance travelled along the route, so the odometer and the track agree
by construction. Faults are traits drawn when the car is created — a trouble code that appears, an
alternator that stops charging, a slow puncture — so each car tells one small, consistent story.

``advance(seconds)`` runs the model for one reporting interval and returns a ``Snapshot``: the state
at the end of the interval plus the events that happened during it (a harsh braking between two
reports is not lost because the report came later).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random

from forecourt.telematics.readings import VehicleEvent
from forecourt.telematics.simulator.route import Route, Town, pick_trip, plan_route

TOWN_ZONE_M = 6_000  # the first and last kilometres are town streets
NORMAL_TYRE_KPA = 240
DTC_CHOICES = ("P0171", "P0420", "P0300", "P0128", "P0442")
WHEELS = ("Row1.Wheel.Left", "Row1.Wheel.Right", "Row2.Wheel.Left", "Row2.Wheel.Right")


@dataclass(frozen=True)
class Snapshot:
    at: datetime
    latitude: float
    longitude: float
    heading: float
    altitude: float
    speed_kmh: float
    acceleration: float  # m/s², the hardest longitudinal value in the interval (braking is negative)
    odometer_m: int
    ignition: bool
    voltage: float
    tyres_kpa: dict[str, int]
    dtcs: tuple[str, ...]
    airbag_deployed: bool
    fuel_percent: int
    events: tuple[VehicleEvent, ...] = ()

    @property
    def moving(self) -> bool:
        return self.speed_kmh > 0.5


@dataclass
class Stop:
    at_m: float
    seconds: float
    ignition_off: bool = False
    final: bool = False


@dataclass
class Faults:
    dtc: str | None = None
    dtc_after_s: float = 0.0
    weak_alternator: bool = False
    puncture_wheel: str | None = None
    harsh_braking_per_hour: float = 1.0


def draw_faults(rng: Random) -> Faults:
    """Most cars are healthy; a few get one of the problems the health page knows how to explain."""
    faults = Faults(harsh_braking_per_hour=rng.choice((0.5, 1.0, 2.0, 6.0)))
    if rng.random() < 0.3:
        faults.dtc, faults.dtc_after_s = rng.choice(DTC_CHOICES), rng.uniform(60, 900)
    if rng.random() < 0.2:
        faults.weak_alternator = True
    if rng.random() < 0.2:
        faults.puncture_wheel = rng.choice(WHEELS)
    return faults


@dataclass
class SimulatedCar:
    """One car's state. ``keep_driving`` starts a new trip after each arrival (the demo's endless fleet)."""

    rng: Random
    clock: datetime
    route: Route
    faults: Faults = field(default_factory=Faults)
    odometer_m: float = 20_000_000.0
    keep_driving: bool = True
    crash_after_s: float | None = None  # seconds of driving before this car crashes, if it does
    travelled_m: float = 0.0
    speed: float = 0.0  # m/s
    ignition: bool = False
    voltage: float = 12.6
    fuel: float = 70.0
    tyres: dict[str, float] = field(default_factory=lambda: {w: float(NORMAL_TYRE_KPA) for w in WHEELS})
    dtcs: list[str] = field(default_factory=list)
    airbag: bool = False
    crashed: bool = False
    finished: bool = False
    driven_s: float = 0.0
    _stops: list[Stop] = field(default_factory=list)
    _waiting_s: float = 0.0
    _waiting_stop: Stop | None = None
    _target: float = 13.9
    _target_until_m: float = 0.0
    _harsh_s: float = 0.0
    _harsh_decel: float = 0.0
    _pending: list[VehicleEvent] = field(default_factory=list)

    @classmethod
    def create(cls, rng: Random, clock: datetime, *, start: Town | None = None, end: Town | None = None,
               keep_driving: bool = True, faults: Faults | None = None,
               odometer_km: float | None = None) -> SimulatedCar:
        """``odometer_km``: what the car's odometer reads as it sets off (its service book's mileage
        and age say; else a random reading)."""
        if start is None or end is None:
            start, end = pick_trip(rng, origin=start)
        car = cls(rng=rng, clock=clock, route=plan_route(start, end, rng), keep_driving=keep_driving,
                  faults=faults if faults is not None else draw_faults(rng),
                  odometer_m=float(odometer_km * 1000 if odometer_km is not None else rng.randint(3_000, 120_000) * 1000),
                  fuel=rng.uniform(35, 95))
        car._begin_trip()
        return car

    # --- trips ------------------------------------------------------------------------------------

    def _begin_trip(self) -> None:
        self.travelled_m, self.speed, self._target_until_m = 0.0, 0.0, 0.0
        self._stops = self._plan_stops()
        self._switch(True)

    def _plan_stops(self) -> list[Stop]:
        rng, length = self.rng, self.route.length_m
        stops: list[Stop] = []
        at = rng.uniform(300, 900)
        while at < length - 200:  # traffic lights in town, a red one now and then
            in_town = at < TOWN_ZONE_M or at > length - TOWN_ZONE_M
            if in_town and rng.random() < 0.35:
                stops.append(Stop(at, rng.uniform(15, 60)))
            at += rng.uniform(400, 1200) if in_town else TOWN_ZONE_M
            if TOWN_ZONE_M < at < length - TOWN_ZONE_M:
                at = max(at, length - TOWN_ZONE_M)
        at = rng.uniform(120_000, 180_000)
        while at < length - 20_000:  # a break at a service area every couple of hours
            stops.append(Stop(at, rng.uniform(600, 1200), ignition_off=True))
            at += rng.uniform(120_000, 180_000)
        stops.append(Stop(length, rng.uniform(1200, 3600), ignition_off=True, final=True))
        return sorted(stops, key=lambda s: s.at_m)

    def _switch(self, on: bool) -> None:
        if self.ignition != on:
            self.ignition = on
            self._pending.append(VehicleEvent.IGNITION_ON if on else VehicleEvent.IGNITION_OFF)

    # --- the model --------------------------------------------------------------------------------

    def _target_speed(self) -> float:
        """m/s the driver aims for here; re-drawn every few kilometres, town or open road."""
        s, length, rng = self.travelled_m, self.route.length_m, self.rng
        if s >= self._target_until_m:
            if s < TOWN_ZONE_M or s > length - TOWN_ZONE_M:
                kmh, span = rng.uniform(35, 55), rng.uniform(300, 900)
            elif rng.random() < 0.06:  # a jam or road works
                kmh, span = rng.uniform(15, 50), rng.uniform(1000, 4000)
            else:
                kmh, span = rng.choice((80, 100, 110, 120, 130)) + rng.uniform(-8, 8), rng.uniform(2000, 8000)
            self._target, self._target_until_m = kmh / 3.6, s + span
        return self._target

    def _step(self) -> float:
        """One simulated second; returns the longitudinal acceleration used."""
        rng = self.rng
        self.clock += timedelta(seconds=1)
        if self._waiting_stop is not None:
            self._waiting_s -= 1
            if self._waiting_s <= 0:
                stop, self._waiting_stop = self._waiting_stop, None
                if stop.final:
                    if not self.keep_driving:
                        self.finished = True
                        return 0.0
                    start, end = pick_trip(rng, origin=self.route.end)
                    self.route = plan_route(start, end, rng)
                    self._begin_trip()
                elif stop.ignition_off:
                    self._switch(True)
            return 0.0
        if self.crashed:
            return 0.0
        self.driven_s += 1
        if self.crash_after_s is not None and self.driven_s >= self.crash_after_s:
            return self._crash()
        target = self._target_speed()
        accel = max(-2.0, min(rng.uniform(1.2, 2.4), (target - self.speed) / 2.5))
        stop = self._stops[0] if self._stops else None
        if stop is not None:
            gap = stop.at_m - self.travelled_m
            needed = self.speed ** 2 / (2 * gap) if gap > 0.5 else 99.0
            if needed >= 1.2:
                accel = -min(needed, 6.0)
        if self._harsh_s > 0:
            self._harsh_s -= 1
            accel = self._harsh_decel
        elif self.speed > 15 and rng.random() < self.faults.harsh_braking_per_hour / 3600:
            self._harsh_s, self._harsh_decel = 1, -rng.uniform(4.5, 7.0)
            accel = self._harsh_decel
            self._pending.append(VehicleEvent.HARSH_BRAKING)
        new_speed = max(0.0, self.speed + accel)
        step = (self.speed + new_speed) / 2
        if stop is not None and self.travelled_m + step >= stop.at_m - 0.5:
            step, new_speed = max(0.0, stop.at_m - self.travelled_m), 0.0
            self._stops.pop(0)
            self._waiting_stop, self._waiting_s = stop, stop.seconds
            if stop.ignition_off:
                self._switch(False)
        self.speed = new_speed
        self.travelled_m += step
        self.odometer_m += step
        self.fuel = max(5.0, self.fuel - step / 1000 * 0.012)
        return accel

    def _crash(self) -> float:
        accel = -max(self.speed, 8.0)  # from cruising to standstill within a second
        self.speed, self.crashed, self.airbag = 0.0, True, True
        self._pending.append(VehicleEvent.CRASH)
        return accel

    def _wear(self) -> None:
        """Faults develop with driving time, once per interval."""
        faults = self.faults
        if faults.dtc and self.driven_s >= faults.dtc_after_s and faults.dtc not in self.dtcs:
            self.dtcs.append(faults.dtc)
        if self.ignition:
            floor = 11.3 if faults.weak_alternator else 14.0
            drop = 0.004 * max(self.driven_s, 1) ** 0.5 if faults.weak_alternator else 0.0
            self.voltage = max(floor, 14.3 - drop) if not faults.weak_alternator else max(floor, 12.9 - drop)
        else:
            self.voltage = 11.6 if faults.weak_alternator and self.driven_s > 600 else 12.6
        if faults.puncture_wheel:
            self.tyres[faults.puncture_wheel] = max(150.0, NORMAL_TYRE_KPA - 0.05 * self.driven_s)

    def advance(self, seconds: float) -> Snapshot:
        """Run the model for one reporting interval (at least one second) and report."""
        hardest = 0.0
        for _ in range(max(1, round(seconds))):
            if self.finished:
                break
            accel = self._step()
            if abs(accel) > abs(hardest):
                hardest = accel
        self._wear()
        return self.snapshot(acceleration=hardest)

    def snapshot(self, *, acceleration: float = 0.0) -> Snapshot:
        lat, lon, heading = self.route.at(self.travelled_m)
        events, self._pending = tuple(dict.fromkeys(self._pending)), []
        return Snapshot(
            at=self.clock, latitude=round(lat, 6), longitude=round(lon, 6), heading=round(heading, 1),
            altitude=round(60 + 40 * abs((lat * 7 + lon * 3) % 2 - 1), 1), speed_kmh=round(self.speed * 3.6, 1),
            acceleration=round(acceleration, 2), odometer_m=int(self.odometer_m), ignition=self.ignition,
            voltage=round(self.voltage, 2), tyres_kpa={w: int(p) for w, p in self.tyres.items()},
            dtcs=tuple(self.dtcs), airbag_deployed=self.airbag, fuel_percent=int(self.fuel), events=events)
