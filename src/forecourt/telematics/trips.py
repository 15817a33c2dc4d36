"""Trips: a car's drives, cut from its ignition events and its movement.

A trip starts at ignition on, or at the first movement after a stop, and ends at ignition off or
after five minutes without movement (a traffic light is not the end of a drive; a parked car
whose ignition-off message was lost is). Movement comes from ``Vehicle.Speed`` samples, so a car
whose owner keeps location services off still has trips, only without a route.

Trips are stored. Rebuilding them from raw telemetry on every page view would replay months of
samples, so ``refresh_trips`` only rebuilds from the start of the car's latest trip onwards: the
open trip grows, a closed one is left alone. Data that arrives late for an older, closed trip is
not folded back into it, and a car's first refresh reads its whole history. A car that stands and
reports after its latest trip is read from its mark instead (``trip_marks``): about the last hour. Rebuilding the open
trip costs its length, so call ``refresh`` for the cars of committed batches on a cadence (say
once a minute per car), not for every message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import cos, hypot, radians

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from forecourt.core.clock import now
from forecourt.core.db import bulk_rows
from forecourt.core.errors import NotFound
from forecourt.core.geo import distance_km
from forecourt.telematics import bulk, trip_marks, windows
from forecourt.telematics.models import Position, Sample, Trip, VehicleEventRecord
from forecourt.telematics.readings import VehicleEvent

STOP_GAP = timedelta(minutes=5)  # standing still longer than this ends a trip
MOVING_KMH = 3.0  # below this, GPS drift and creeping are not driving
MAX_ROUTE_POINTS = 500
SPEED, ODOMETER = "Vehicle.Speed", "Vehicle.TraveledDistance"
_IMPLAUSIBLE_KMH = 300.0  # a jump between two fixes faster than this is a GPS glitch, not distance
MAX_STEP = timedelta(seconds=60)  # speed is trusted this long after it was measured
_ON, _DATA, _OFF = 0, 1, 2  # order of ticks that share a timestamp


@dataclass
class _Point:
    at: datetime
    latitude: float | None = None
    longitude: float | None = None
    speed: float | None = None


@dataclass
class _Segment:
    started_at: datetime
    points: list[_Point] = field(default_factory=list)
    last_motion: datetime | None = None
    stopped_at: datetime | None = None  # first standstill after the last movement
    ended_at: datetime | None = None
    end_reason: str = "open"


def _points(session: Session, vehicle_id: int, since: datetime | None, until: datetime | None = None) -> list[_Point]:
    """Positions and speed samples merged per moment, in time order."""
    def window(column):
        return ([column >= since] if since is not None else []) + ([column <= until] if until is not None else [])

    points: dict[datetime, _Point] = {}
    for at, lat, lon, speed in bulk_rows(
            session, select(Position.measured_at, Position.latitude, Position.longitude, Position.speed_kmh)
            .where(Position.vehicle_id == vehicle_id, *window(Position.measured_at))):
        points[at] = _Point(at, lat, lon, speed)
    for at, value in bulk_rows(session, select(Sample.measured_at, Sample.value).where(
            Sample.vehicle_id == vehicle_id, Sample.path == SPEED, *window(Sample.measured_at))):
        _add_speed(points, at, value)
    return _in_order(points)


def _add_speed(points: dict[datetime, _Point], at: datetime, value: object) -> None:
    point = points.setdefault(at, _Point(at))
    if point.speed is None and isinstance(value, int | float):
        point.speed = float(value)


def _in_order(points: dict[datetime, _Point]) -> list[_Point]:
    ordered = sorted(points.values(), key=lambda p: p.at)
    previous = None
    for point in ordered:  # a phone or tracker without a speed signal: speed from successive fixes
        if point.latitude is None:
            continue
        if point.speed is None and previous is not None and timedelta(0) < point.at - previous.at <= MAX_STEP:
            hours = (point.at - previous.at).total_seconds() / 3600
            point.speed = distance_km(previous.latitude, previous.longitude, point.latitude, point.longitude) / hours
        previous = point
    return ordered


# --- loading many cars at once: one query per kind of reading for a whole chunk of cars -----------

_CHUNK = 200  # cars per query: each brings its own time window


def _ticks_many(session: Session, since: dict[int, datetime | None]) -> dict[int, list]:
    """``_load`` for many cars: positions, speeds and ignition events in three queries."""
    points: dict[int, dict[datetime, _Point]] = {v: {} for v in since}
    windows.fill(session, since)
    for v, at, lat, lon, speed in bulk_rows(session, windows.readings(
            session, Position, [Position.measured_at, Position.latitude, Position.longitude, Position.speed_kmh])):
        points[v][at] = _Point(at, lat, lon, speed)
    for v, at, value in bulk_rows(session, windows.readings(session, Sample, [Sample.measured_at, Sample.value],
                                                            only={Sample.path: SPEED})):
        _add_speed(points[v], at, value)
    ticks: dict[int, list] = {v: [(p.at, _DATA, p) for p in _in_order(car)] for v, car in points.items()}
    for v, at, kind in bulk_rows(session, windows.readings(
            session, VehicleEventRecord, [VehicleEventRecord.measured_at, VehicleEventRecord.kind],
            only={VehicleEventRecord.kind: (VehicleEvent.IGNITION_ON.value, VehicleEvent.IGNITION_OFF.value)})):
        ticks[v].append((at, _ON if kind == VehicleEvent.IGNITION_ON.value else _OFF, None))
    for car in ticks.values():
        car.sort(key=lambda t: (t[0], t[1]))
    return ticks


@dataclass(frozen=True)
class Rebuild:
    """A chunk of cars' trips as their telemetry says they are now, computed by ``plan_rebuild``
    from a read and stored by ``store_rebuild``. The two run in separate transactions where
    writers take turns (SQLite), so the write lock is held for the writing alone."""

    since: dict[int, datetime | None]  # each car's moment the rebuild read from: its trips from there are replaced
    trips: dict[int, list[tuple[datetime, dict]]]  # per car: (start, measured values) of each trip
    latest: dict[int, datetime | None] = field(default_factory=dict)  # each car's latest trip start, as read
    seen: dict[int, datetime] = field(default_factory=dict)  # each car's newest reading read


def plan_rebuild(*, session: Session, vehicle_ids: list[int]) -> Rebuild:
    """Reads each kind of telemetry once for all the cars and cuts and measures their trips: from
    each car's latest trip start, or, for a car standing since, from where its mark says
    (``trip_marks``)."""
    latest = windows.latest_starts(session, vehicle_ids)
    since = trip_marks.read_from(session, latest)
    reference = now()
    ticks = _ticks_many(session, since)
    seen = {v: car[-1][0] for v, car in ticks.items() if car}
    segments = {v: _segments(car, reference) for v, car in ticks.items()}
    odometer: dict[int, list[tuple[datetime, float]]] = {v: [] for v in vehicle_ids}
    bounds = {v: found[0].started_at - timedelta(hours=1) for v, found in segments.items() if found}
    if bounds:
        windows.fill(session, bounds)
        for v, at, value in bulk_rows(session, windows.readings(session, Sample, [Sample.measured_at, Sample.value],
                                                                only={Sample.path: ODOMETER}, ordered=True)):
            if isinstance(value, int | float):
                odometer[v].append((at, float(value)))
    return Rebuild(since, {v: [(segment.started_at, _measure(segment, odometer[v])) for segment in segments[v]]
                           for v in vehicle_ids}, latest, seen)


def store_rebuild(*, session: Session, rebuild: Rebuild, returning: bool = True) -> dict[int, list[Trip]] | None:
    """Stores a planned rebuild: the trips from each car's ``since`` on become the planned ones.
    Returns the trips that changed, per car; with ``returning=False`` (the detectors, which only
    keep trips current) nothing, and new trips go in as plain rows."""
    windows.fill(session, rebuild.since)
    current: dict[int, dict[datetime, Trip]] = {v: {} for v in rebuild.since}
    for trip in session.scalars(windows.trips(session)):
        current[trip.vehicle_id][trip.started_at] = trip
    changed: dict[int, list[Trip | dict]] = {}
    gone: list[int] = []
    for vehicle_id, measured in rebuild.trips.items():
        existing = current[vehicle_id]
        changed[vehicle_id] = _apply(vehicle_id, measured, existing)
        gone += [t.id for t in existing.values()]
    if gone:  # trips that the new data merged into another or no longer supports
        session.execute(delete(Trip).where(Trip.id.in_(gone)))
    session.flush()
    if rebuild.latest:  # a rebuild planned here (not a hand-made one) leaves its standing cars' marks
        trip_marks.keep(session, latest=rebuild.latest, read=rebuild.since, trips=rebuild.trips, seen=rebuild.seen,
                        stop_gap=STOP_GAP)
    return _insert_new(session, changed, returning)


def _insert_new(session: Session, changed: dict[int, list[Trip | dict]],
                returning: bool) -> dict[int, list[Trip]] | None:
    """The new trips among ``changed`` (still plain rows) in one bulk ``INSERT``, or ``COPY`` when
    no objects are wanted back: a fleet's first refresh adds a trip per car, and the session's unit
    of work took a sixth of the detector's time adding them one object at a time."""
    rows = [trip for car in changed.values() for trip in car if isinstance(trip, dict)]
    if not returning:
        bind = bulk.moment_binder(session)
        bulk.insert_rows(session, Trip.__table__, [{key: bind(value) if isinstance(value, datetime) else
                                                    bulk.json_text(value) if isinstance(value, list) else value
                                                    for key, value in row.items()} for row in rows])
        return None
    if not rows:
        return changed  # type: ignore[return-value]
    made = iter(session.scalars(insert(Trip).returning(Trip, sort_by_parameter_order=True), rows).all())
    return {v: [trip if isinstance(trip, Trip) else next(made) for trip in car] for v, car in changed.items()}


def _refresh_many(session: Session, vehicle_ids: list[int]) -> dict[int, list[Trip]]:
    """``refresh_trips`` for a chunk of cars, in the caller's transaction."""
    return store_rebuild(session=session, rebuild=plan_rebuild(session=session, vehicle_ids=vehicle_ids))


def speed_profile(*, session: Session, trip: Trip) -> list[tuple[datetime, float]]:
    """Speeds over the trip (km/h). The score reads them through here so that trips and score agree
    on what counted as moving, including speeds derived from GPS fixes."""
    return [(p.at, p.speed) for p in _points(session, trip.vehicle_id, trip.started_at, trip.ended_at)
            if p.speed is not None]


def _close(segment: _Segment, reason: str, at: datetime) -> _Segment:
    segment.ended_at, segment.end_reason = at, reason
    segment.points = [p for p in segment.points if p.at <= at]
    return segment


def _segments(ticks, reference: datetime) -> list[_Segment]:
    done: list[_Segment] = []
    trip: _Segment | None = None
    ignition_on: datetime | None = None
    still: _Point | None = None  # the latest standstill before a trip, to start the route where the car stood
    for at, kind, point in ticks:
        if trip is not None and at - trip.last_motion > STOP_GAP:
            done.append(_close(trip, "stopped", trip.stopped_at or trip.last_motion))
            trip = None
        if kind == _ON:
            if trip is None:
                ignition_on = at
            continue
        if kind == _OFF:
            if trip is not None:
                done.append(_close(trip, "ignition_off", at))
                trip = None
            ignition_on = still = None
            continue
        moving = point.speed is not None and point.speed > MOVING_KMH
        if trip is None:
            if not moving:
                still = point
                continue
            if ignition_on is not None and at - ignition_on <= STOP_GAP:
                start = ignition_on
            elif still is not None and at - still.at <= MAX_STEP:
                start = still.at
            else:
                start = at
            trip = _Segment(started_at=start)
            if still is not None and still.at >= start:
                trip.points.append(still)
            ignition_on = still = None
        trip.points.append(point)
        if moving:
            trip.last_motion, trip.stopped_at = at, None
        elif trip.stopped_at is None:
            trip.stopped_at = at
    if trip is not None:
        if reference - trip.last_motion > STOP_GAP:
            done.append(_close(trip, "stopped", trip.stopped_at or trip.last_motion))
        else:
            trip.ended_at = trip.points[-1].at
            done.append(trip)
    return done


# --- measuring a trip ----------------------------------------------------------------------------

def _odometer_km(readings: list[tuple[datetime, float]], start: datetime, end: datetime) -> float | None:
    before = [v for at, v in readings if at <= start]
    inside = [(at, v) for at, v in readings if start < at <= end]
    if not inside:
        return None
    first = before[-1] if before else inside[0][1]
    last = inside[-1][1]
    if len(before) + len(inside) < 2 or last < first:
        return None
    return (last - first) / 1000


def _gps_km(points: list[_Point]) -> float | None:
    fixes = [p for p in points if p.latitude is not None]
    if len(fixes) < 2:
        return None
    total = 0.0
    for a, b in zip(fixes, fixes[1:]):
        step = distance_km(a.latitude, a.longitude, b.latitude, b.longitude)
        hours = (b.at - a.at).total_seconds() / 3600
        if hours > 0 and step / hours > _IMPLAUSIBLE_KMH:
            continue
        total += step
    return total


def _speed_km(points: list[_Point]) -> float:
    total = 0.0
    for a, b in zip(points, points[1:]):
        if a.speed is not None:
            total += a.speed * min(b.at - a.at, MAX_STEP).total_seconds() / 3600
    return total


def simplify(route: list[list[float]], limit: int = MAX_ROUTE_POINTS) -> list[list[float]]:
    """Douglas-Peucker with a growing tolerance until the route fits ``limit`` points: a map line
    of an hour's drive at one fix a second would otherwise weigh 3,600 points."""
    if len(route) <= limit:
        return route
    tolerance_m = 5.0
    while True:
        kept = _douglas_peucker(route, tolerance_m)
        if len(kept) <= limit:
            return kept
        tolerance_m *= 2


def _douglas_peucker(route: list[list[float]], tolerance_m: float) -> list[list[float]]:
    scale_x = 111_320 * cos(radians(route[0][0]))
    xy = [(lon * scale_x, lat * 110_540) for lat, lon in route]
    keep = {0, len(route) - 1}
    stack = [(0, len(route) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = xy[first], xy[last]
        dx, dy = x2 - x1, y2 - y1
        length = hypot(dx, dy)
        worst, index = 0.0, None
        for i in range(first + 1, last):
            x, y = xy[i]
            d = abs(dy * x - dx * y + x2 * y1 - y2 * x1) / length if length else hypot(x - x1, y - y1)
            if d > worst:
                worst, index = d, i
        if index is not None and worst > tolerance_m:
            keep.add(index)
            stack += [(first, index), (index, last)]
    return [route[i] for i in sorted(keep)]


def _measure(segment: _Segment, odometer: list[tuple[datetime, float]]) -> dict:
    points = segment.points
    fixes = [p for p in points if p.latitude is not None]
    distance, source = _odometer_km(odometer, segment.started_at, segment.ended_at), "odometer"
    if distance is None:
        distance, source = _gps_km(points), "gps"
    if distance is None:
        distance, source = _speed_km(points), "speed"
    speeds = [p.speed for p in points if p.speed is not None]
    hours = (segment.ended_at - segment.started_at).total_seconds() / 3600
    return dict(
        ended_at=segment.ended_at, is_open=segment.end_reason == "open", end_reason=segment.end_reason,
        start_latitude=fixes[0].latitude if fixes else None, start_longitude=fixes[0].longitude if fixes else None,
        end_latitude=fixes[-1].latitude if fixes else None, end_longitude=fixes[-1].longitude if fixes else None,
        distance_km=round(distance, 3), distance_source=source,
        max_speed_kmh=max(speeds) if speeds else None,
        avg_speed_kmh=round(distance / hours, 1) if hours > 0 else None,
        route=simplify([[round(p.latitude, 6), round(p.longitude, 6)] for p in fixes]),
    )


# --- the service -------------------------------------------------------------------------------

def refresh_trips(*, session: Session, vehicle_id: int) -> list[Trip]:
    """Rebuild the car's trips from the start of its latest one; returns the trips that changed."""
    return _refresh_many(session, [vehicle_id])[vehicle_id]


def _apply(vehicle_id: int, measured: list[tuple[datetime, dict]],
           existing: dict[datetime, Trip]) -> list[Trip | dict]:
    """Updates the stored trips that were rebuilt, and returns what changed: those trips, and new
    ones as rows for ``_insert_new``. ``existing`` is left holding the trips no rebuilt one matched."""
    changed: list[Trip | dict] = []
    moment = now()
    for started_at, values in measured:
        trip = existing.pop(started_at, None)
        if trip is None:
            changed.append({"vehicle_id": vehicle_id, "started_at": started_at, **values, "updated_at": moment})
            continue
        if all(getattr(trip, key) == value for key, value in values.items()):
            continue
        for key, value in values.items():
            setattr(trip, key, value)
        trip.driving_facts = None  # the score's inputs describe the trip as it was
        trip.updated_at = moment
        changed.append(trip)
    return changed


def refresh(*, session: Session, vehicle_ids: Iterable[int]) -> dict[int, list[Trip]]:
    """``refresh_trips`` for every car of a committed ingest batch (``TwinUpdated.vehicle_ids``),
    a chunk of cars at a time: a few queries per chunk instead of six per car."""
    ids = sorted(set(vehicle_ids))
    changed: dict[int, list[Trip]] = {}
    for start in range(0, len(ids), _CHUNK):
        changed.update(_refresh_many(session, ids[start:start + _CHUNK]))
    return changed


def refresh_open_trips(*, session: Session) -> int:
    """Close trips of cars that stopped reporting mid-trip; for the scheduler, every few minutes."""
    stale = session.scalars(select(Trip.vehicle_id).where(Trip.is_open.is_(True),
                                                          Trip.ended_at < now() - STOP_GAP)).all()
    refresh(session=session, vehicle_ids=stale)
    return len(set(stale))


def list_trips(*, session: Session, vehicle_id: int, limit: int = 50, since: datetime | None = None) -> list[Trip]:
    """Newest first. ``since`` lets a caller hide trips from before the current owner's purchase."""
    query = select(Trip).where(Trip.vehicle_id == vehicle_id)
    if since is not None:
        query = query.where(Trip.started_at >= since)
    return list(session.scalars(query.order_by(Trip.started_at.desc()).limit(limit)))


def latest_trip(*, session: Session, vehicle_id: int) -> Trip | None:
    return session.scalars(select(Trip).where(Trip.vehicle_id == vehicle_id)
                           .order_by(Trip.started_at.desc()).limit(1)).first()


def get_trip(*, session: Session, trip_id: int) -> Trip:
    trip = session.get(Trip, trip_id)
    if trip is None:
        raise NotFound("Trip not found")
    return trip


# --- privacy: trips hold positions, so they follow the positions' rules --------------------------

def forget_routes(*, session: Session, older_than_days: int) -> int:
    """Retention: a route is as personal as the positions it was drawn from, so it goes with them."""
    cutoff = now() - timedelta(days=older_than_days)
    return session.execute(update(Trip).where(Trip.started_at < cutoff, or_(
        Trip.start_latitude.is_not(None), Trip.end_latitude.is_not(None)))
        .values(route=[], start_latitude=None, start_longitude=None, end_latitude=None,
                end_longitude=None)).rowcount


def delete_trips(*, session: Session, vehicle_id: int, since: datetime, until: datetime | None = None) -> int:
    """Erasure of one owner's period with a car (``until`` None: up to now)."""
    trip_marks.forget(session, vehicle_id)
    query = delete(Trip).where(Trip.vehicle_id == vehicle_id, Trip.started_at >= since)
    if until is not None:
        query = query.where(Trip.started_at < until)
    return session.execute(query).rowcount
