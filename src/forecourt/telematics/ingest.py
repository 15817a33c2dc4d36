"""The ingest pipeline: decoded readings in, committed samples, positions, events and twin out.

Listeners (MQTT, HTTP, TCP) decode, call ``ingest`` inside a transaction, commit, and only then
acknowledge. Each reading carries a ``message_key``; a key already stored means the message was
redelivered or resent, so it is counted as a duplicate and stored no second time. Work is done
per batch with bulk statements, because a fleet reports thousands of messages a second.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import events
from forecourt.core.clock import now
from forecourt.core.errors import NotFound
from forecourt.parties import service as parties_service
from forecourt.telematics import devices
from forecourt.telematics.models import (Device, Position, ReceivedMessage, Rejection, Sample, TwinSignal,
                                         VehicleEventRecord)
from forecourt.telematics.readings import Reading, Source, VehicleEvent
from forecourt.vehicles import service as vehicles_service

LOCATION_PREFIX = "Vehicle.CurrentLocation."
LATITUDE, LONGITUDE = "Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude"
LOCATION_PURPOSE = "location_services"
ALWAYS_LOCATED = {VehicleEvent.SOS, VehicleEvent.CRASH}  # kept with their position whatever the consent


@dataclass(frozen=True)
class VehicleSignalled:
    """A vehicle event (SOS, crash, tow...) was stored. Published after commit for other domains."""

    vehicle_id: int
    kind: str
    measured_at: datetime
    latitude: float | None
    longitude: float | None
    source: str


@dataclass(frozen=True)
class TwinUpdated:
    """New signal values were stored for these vehicles (detectors listen to this)."""

    vehicle_ids: tuple[int, ...]


@dataclass
class IngestReport:
    stored: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (device id, reason)
    positions: int = 0
    events: int = 0
    vehicle_ids: set[int] = field(default_factory=set)  # cars with newly stored readings


def _insert(session: Session, table):
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(table)


def reject(*, session: Session, channel: str, device_id: str | None, reason: str, excerpt: bytes | str | None = None) -> None:
    """Record why a message was refused; listeners call this for input they could not decode."""
    if isinstance(excerpt, bytes):
        excerpt = excerpt[:256].hex()
    session.add(Rejection(channel=channel, device_id=(device_id or "")[:64] or None, reason=reason[:2000],
                          excerpt=(excerpt or "")[:1024] or None, at=now()))


def _new_keys(session: Session, readings: list[Reading]) -> set[str]:
    """Claims each key once; returns the keys this batch is the first to store."""
    keys = list(dict.fromkeys(r.message_key for r in readings))
    if not keys:
        return set()
    moment = now()
    statement = _insert(session, ReceivedMessage.__table__).on_conflict_do_nothing(
        index_elements=["message_key"]).returning(ReceivedMessage.__table__.c.message_key)
    new: set[str] = set()
    for start in range(0, len(keys), 5000):  # a multi-row VALUES stays under SQLite's variable limit
        chunk = [{"message_key": k, "received_at": moment} for k in keys[start:start + 5000]]
        new.update(session.execute(statement.values(chunk)).scalars())
    return new


class LocationConsent:
    """Per batch, whether each car's current owner lets the carmaker store its position."""

    def __init__(self, session: Session):
        self.session = session
        self.cache: dict[int, bool] = {}
        try:
            self.operator_id: int | None = parties_service.carmaker(session=session).id
        except NotFound:
            self.operator_id = None

    def preload(self, vehicle_ids: set[int]) -> None:
        """Answers for a whole batch in two queries instead of two per car.

        Asking car by car made the consent check most of an MQTT batch's time (a batch touches
        up to a couple of thousand cars). The rule is ``allows``': an unsold car is located; an
        owned one only under an active ``location_services`` grant to the carmaker whose notice
        names that purpose (an unsold car carries nobody's personal data).
        """
        wanted = sorted(set(vehicle_ids) - self.cache.keys())
        owners = vehicles_service.current_owners(session=self.session, vehicle_ids=wanted)
        granted = set() if self.operator_id is None else consent_service.customers_granting(
            session=self.session, organization_id=self.operator_id, purpose_code=LOCATION_PURPOSE,
            customer_ids=set(owners.values()))
        for vehicle_id in wanted:
            owner = owners.get(vehicle_id)
            self.cache[vehicle_id] = owner is None or owner in granted

    def allows(self, vehicle_id: int) -> bool:
        if vehicle_id not in self.cache:
            self.preload({vehicle_id})
        return self.cache[vehicle_id]


def ingest(*, session: Session, readings: list[Reading], channel: str) -> IngestReport:
    """Store a batch exactly once. Never commits: the caller commits, then acknowledges."""
    report = IngestReport()
    by_source: dict[Source, set[str]] = defaultdict(set)
    for reading in readings:
        by_source[reading.source].add(reading.device_id)
    known: dict[tuple[Source, str], Device] = {}
    for source, identifiers in by_source.items():
        for identifier, device in devices.by_identity(session=session, kind=source, identifiers=identifiers).items():
            known[(source, identifier)] = device
    accepted: list[tuple[Reading, Device]] = []
    for reading in readings:
        device = known.get((reading.source, reading.device_id))
        if device is None:
            reason = f"unknown {reading.source.value} device '{reading.device_id}'"
            report.rejected.append((reading.device_id, reason))
            reject(session=session, channel=channel, device_id=reading.device_id, reason=reason)
        else:
            accepted.append((reading, device))
    fresh = _new_keys(session, [r for r, _ in accepted])
    consent = LocationConsent(session)
    consent.preload({device.vehicle_id for reading, device in accepted if reading.message_key in fresh})
    samples, positions, vehicle_events, latest = [], [], [], {}
    seen: set[str] = set()
    for reading, device in accepted:
        if reading.message_key not in fresh or reading.message_key in seen:
            report.duplicates += 1
            continue
        seen.add(reading.message_key)
        report.stored += 1
        vehicle_id = device.vehicle_id
        report.vehicle_ids.add(vehicle_id)
        located = consent.allows(vehicle_id)
        lat, lon = reading.signals.get(LATITUDE), reading.signals.get(LONGITUDE)
        speed = reading.signals.get("Vehicle.Speed")
        for path, value in reading.signals.items():
            if path.startswith(LOCATION_PREFIX):
                if not located:
                    continue
            else:
                samples.append({"vehicle_id": vehicle_id, "measured_at": reading.measured_at, "path": path,
                                "value": value})
            current = latest.get((vehicle_id, path))
            if current is None or current[1] <= reading.measured_at:
                latest[(vehicle_id, path)] = (value, reading.measured_at)
        if located and lat is not None and lon is not None:
            positions.append({"vehicle_id": vehicle_id, "measured_at": reading.measured_at, "latitude": lat,
                              "longitude": lon, "speed_kmh": speed,
                              "heading": reading.signals.get("Vehicle.CurrentLocation.Heading"),
                              "altitude": reading.signals.get("Vehicle.CurrentLocation.Altitude"),
                              "accuracy_m": reading.signals.get("Vehicle.CurrentLocation.HorizontalAccuracy"),
                              "source": reading.source.value})
        for kind in reading.events:
            keep_position = located or kind in ALWAYS_LOCATED
            vehicle_events.append({"vehicle_id": vehicle_id, "kind": kind.value, "measured_at": reading.measured_at,
                                   "latitude": lat if keep_position else None,
                                   "longitude": lon if keep_position else None, "speed_kmh": speed,
                                   "source": reading.source.value, "message_key": reading.message_key})
    if samples:
        session.execute(insert(Sample), samples)
    if positions:
        session.execute(insert(Position), positions)
    if vehicle_events:
        session.execute(insert(VehicleEventRecord), vehicle_events)
    _update_twin(session, latest)
    _mark_seen(session, {device.id for _, device in accepted})
    report.positions, report.events = len(positions), len(vehicle_events)
    for row in vehicle_events:
        events.publish(session, VehicleSignalled(vehicle_id=row["vehicle_id"], kind=row["kind"],
                                                 measured_at=row["measured_at"], latitude=row["latitude"],
                                                 longitude=row["longitude"], source=row["source"]))
    if latest:
        events.publish(session, TwinUpdated(vehicle_ids=tuple(sorted({v for v, _ in latest}))))
    return report


def _update_twin(session: Session, latest: dict) -> None:
    if not latest:
        return
    rows = [{"vehicle_id": v, "path": p, "value": value, "measured_at": at} for (v, p), (value, at) in latest.items()]
    statement = _insert(session, TwinSignal.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["vehicle_id", "path"],
        set_={"value": statement.excluded.value, "measured_at": statement.excluded.measured_at},
        where=TwinSignal.__table__.c.measured_at <= statement.excluded.measured_at,
    )
    session.execute(statement, rows)


def _mark_seen(session: Session, device_ids: set[int]) -> None:
    if device_ids:
        session.execute(update(Device).where(Device.id.in_(device_ids)).values(last_seen_at=now()))
