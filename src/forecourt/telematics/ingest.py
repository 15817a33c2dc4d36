"""The ingest pipeline: decoded readings in, committed samples, positions, events and twin out.

Listeners (MQTT, HTTP, TCP) decode, call ``ingest`` inside a transaction, commit, and only then
acknowledge. Each reading carries a ``message_key``; a key already stored means the message was
redelivered or resent, so it is counted as a duplicate and stored no second time. Work is done
per batch with bulk statements, because a fleet reports thousands of messages a second.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import changes, events
from forecourt.core.clock import now
from forecourt.core.db import hold_per_key, one_of
from forecourt.core.errors import NotFound
from forecourt.parties import service as parties_service
from forecourt.telematics import bulk, device_time, devices
from forecourt.telematics.models import Device, Position, Rejection, VehicleEventRecord
from forecourt.telematics.readings import Reading, Source, VehicleEvent
from forecourt.vehicles import service as vehicles_service

LOCATION_PREFIX = "Vehicle.CurrentLocation."
LATITUDE, LONGITUDE = "Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude"
LOCATION_PURPOSE = "location_services"
ALWAYS_LOCATED = {VehicleEvent.SOS, VehicleEvent.CRASH}  # kept with their position whatever the consent
SAFETY_EVENTS = frozenset(kind.value for kind in ALWAYS_LOCATED)
SEEN_PRECISION = timedelta(minutes=1)  # a device's last contact is kept to the minute
AIRBAG_DEPLOYED = ".Airbag.IsDeployed"  # Vehicle.Cabin.Seat.Row1.DriverSide.Airbag.IsDeployed and its siblings


@events.durable("telematics.vehicle_signalled", when=lambda event: event.kind in SAFETY_EVENTS)
@dataclass(frozen=True)
class VehicleSignalled:
    """A vehicle event (SOS, crash, tow...) was stored. SOS and crash are durable: a person must act on
    them (On Call opens a case); the rest (tow, ignition, harsh driving) are notices."""

    vehicle_id: int
    kind: str
    measured_at: datetime
    latitude: float | None
    longitude: float | None
    source: str
    problems: tuple[str, ...] = ()  # e.g. the device's clock was off and the time received was used


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


def reject(*, session: Session, channel: str, device_id: str | None, reason: str, excerpt: bytes | str | None = None,
           address: str | None = None) -> None:
    """Record why a message was refused; listeners call this for input they could not decode.
    ``address`` is the HTTP client's, so failed attempts can be limited per client."""
    if isinstance(excerpt, bytes):
        excerpt = excerpt[:256].hex()
    session.add(Rejection(channel=channel, device_id=(device_id or "")[:64] or None, reason=reason[:2000],
                          excerpt=(excerpt or "")[:1024] or None, at=now(), address=(address or "")[:64] or None))


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
    return store_plan(session=session, plan=plan_batch(session=session, readings=readings), channel=channel)


@dataclass
class Plan:
    """A batch looked up and turned into rows, before anything is written.

    ``plan_batch`` only reads, so on SQLite it runs before the batch takes the single write lock
    and the lock is held for the writes alone; ``store_plan`` claims the keys, and if another
    writer stored one of them in between, it builds the rows again without those readings.
    """

    accepted: list[tuple[Reading, tuple[int, int]]]  # with (device id, vehicle id)
    refusals: list[tuple[str, str]]  # (device id, reason)
    keys: list[str]  # message keys not stored yet, in order
    consent: LocationConsent
    rows: _Rows
    received_at: datetime


@dataclass
class _Rows:
    samples: list[tuple] = field(default_factory=list)  # in the order of bulk.SAMPLE_COLUMNS
    positions: list[dict] = field(default_factory=list)
    vehicle_events: list[dict] = field(default_factory=list)
    latest: dict = field(default_factory=dict)  # (vehicle id, path) -> (JSON text, measured at, bound moment)
    airbags: list[tuple[int, Reading, bool]] = field(default_factory=list)  # (vehicle, reading, any deployed)
    statuses: dict = field(default_factory=dict)  # device id -> (measured at, status), the newest per device
    stored: int = 0
    duplicates: int = 0
    vehicle_ids: set[int] = field(default_factory=set)


def plan_batch(*, session: Session, readings: list[Reading]) -> Plan:
    by_source: dict[Source, set[str]] = defaultdict(set)
    for reading in readings:
        by_source[reading.source].add(reading.device_id)
    known: dict[tuple[Source, str], tuple[int, int]] = {}  # (device id, vehicle id)
    for source, identifiers in by_source.items():
        for identifier, ids in devices.ids_by_identity(session=session, kind=source, identifiers=identifiers).items():
            known[(source, identifier)] = ids
    accepted: list[tuple[Reading, tuple[int, int]]] = []
    refusals: list[tuple[str, str]] = []
    received_at = now()
    for reading in readings:
        device = known.get((reading.source, reading.device_id))
        if device is None:
            refusals.append((reading.device_id, f"unknown {reading.source.value} device '{reading.device_id}'"))
            continue
        problem = device_time.problem(reading.measured_at, received_at=received_at)
        if problem is None:
            accepted.append((reading, device))
        elif ALWAYS_LOCATED.intersection(reading.events):  # an alert is kept, at the time it was received
            accepted.append((replace(reading, measured_at=received_at,
                                     problems=(*reading.problems, f"{problem}: used the time received")), device))
        else:
            refusals.append((reading.device_id, f"{problem}: reading refused"))
    stored_before = bulk.stored_keys(session, [r.message_key for r, _ in accepted])
    keys = list(dict.fromkeys(r.message_key for r, _ in accepted if r.message_key not in stored_before))
    consent = LocationConsent(session)
    fresh = set(keys)
    consent.preload({device[1] for reading, device in accepted if reading.message_key in fresh})
    return Plan(accepted=accepted, refusals=refusals, keys=keys, consent=consent, received_at=received_at,
                rows=_rows(accepted, fresh, consent, bulk.moment_binder(session), received_at))


def store_plan(*, session: Session, plan: Plan, channel: str) -> IngestReport:
    """The writes of a planned batch; never commits."""
    report = IngestReport()
    for device_id, reason in plan.refusals:
        report.rejected.append((device_id, reason))
        reject(session=session, channel=channel, device_id=device_id, reason=reason)
    plan.consent.session = session
    fresh = bulk.claim_keys(session, plan.keys)
    rows = plan.rows
    if len(fresh) != len(plan.keys):  # another writer stored some of them since the plan was made
        rows = _rows(plan.accepted, fresh, plan.consent, bulk.moment_binder(session), plan.received_at)
    report.stored, report.duplicates, report.vehicle_ids = rows.stored, rows.duplicates, rows.vehicle_ids
    vehicle_events = list(rows.vehicle_events)
    for vehicle_id, reading in _airbag_crashes(session, rows.airbags):
        vehicle_events.append(_event_row(vehicle_id, reading, VehicleEvent.CRASH, plan.consent.allows(vehicle_id)))
    bulk.insert_tuples(session, bulk.SAMPLES, bulk.SAMPLE_COLUMNS, rows.samples)
    bulk.insert_rows(session, Position.__table__, rows.positions)
    if vehicle_events:
        session.execute(VehicleEventRecord.__table__.insert(), vehicle_events)
    bulk.update_twin(session, rows.latest)
    devices.keep_statuses(session=session, statuses=rows.statuses)
    _mark_seen(session, {device[0] for _, device in plan.accepted})
    report.positions, report.events = len(rows.positions), len(vehicle_events)
    problems = {reading.message_key: reading.problems for reading, _ in plan.accepted if reading.problems}
    for row in vehicle_events:
        events.publish(session, VehicleSignalled(vehicle_id=row["vehicle_id"], kind=row["kind"],
                                                 measured_at=row["measured_at"], latitude=row["latitude"],
                                                 longitude=row["longitude"], source=row["source"],
                                                 problems=problems.get(row["message_key"], ())))
    if rows.latest:
        events.publish(session, TwinUpdated(vehicle_ids=tuple(sorted({v for v, _ in rows.latest}))))
    # the pages following these cars live hear of the whole batch once, when it commits
    changes.cars_changed(session, {v for v, _ in rows.latest} | {p["vehicle_id"] for p in rows.positions})
    return report


def _rows(accepted: list[tuple[Reading, tuple[int, int]]], fresh: set[str], consent: LocationConsent,
          moment, received_at: datetime) -> _Rows:
    """The batch's rows. The twin takes each value at its measured time, or at the time received if
    that is earlier (a clock a few minutes fast), so no value can hold the twin against later ones."""
    rows = _Rows()
    seen: set[str] = set()
    for reading, device in accepted:
        if reading.message_key not in fresh or reading.message_key in seen:
            rows.duplicates += 1
            continue
        seen.add(reading.message_key)
        rows.stored += 1
        vehicle_id = device[1]
        rows.vehicle_ids.add(vehicle_id)
        located = consent.allows(vehicle_id)
        lat, lon = reading.signals.get(LATITUDE), reading.signals.get(LONGITUDE)
        bound_at = moment(reading.measured_at)
        twin_at = min(reading.measured_at, received_at)
        twin_bound_at = bound_at if twin_at == reading.measured_at else moment(twin_at)
        if reading.status:
            current_status = rows.statuses.get(device[0])
            if current_status is None or current_status[0] <= reading.measured_at:
                rows.statuses[device[0]] = (reading.measured_at, reading.status)
        deployed: bool | None = None
        for path, value in reading.signals.items():
            if path.endswith(AIRBAG_DEPLOYED):
                deployed = deployed is True or value is True
            is_location = path.startswith(LOCATION_PREFIX)
            if is_location and not located:
                continue
            stored = bulk.json_text(value)
            if not is_location:
                rows.samples.append((vehicle_id, bound_at, path, stored))
            current = rows.latest.get((vehicle_id, path))
            if current is None or current[1] <= twin_at:
                rows.latest[(vehicle_id, path)] = (stored, twin_at, twin_bound_at)
        if located and lat is not None and lon is not None:
            rows.positions.append({"vehicle_id": vehicle_id, "measured_at": bound_at, "latitude": lat,
                                   "longitude": lon, "speed_kmh": reading.signals.get("Vehicle.Speed"),
                                   "heading": reading.signals.get("Vehicle.CurrentLocation.Heading"),
                                   "altitude": reading.signals.get("Vehicle.CurrentLocation.Altitude"),
                                   "accuracy_m": reading.signals.get("Vehicle.CurrentLocation.HorizontalAccuracy"),
                                   "source": reading.source.value})
        if deployed is not None:
            rows.airbags.append((vehicle_id, reading, deployed))
        for kind in reading.events:
            rows.vehicle_events.append(_event_row(vehicle_id, reading, kind, located))
    return rows


def _event_row(vehicle_id: int, reading: Reading, kind: VehicleEvent, located: bool) -> dict:
    keep_position = located or kind in ALWAYS_LOCATED
    signals = reading.signals
    return {"vehicle_id": vehicle_id, "kind": kind.value, "measured_at": reading.measured_at,
            "latitude": signals.get(LATITUDE) if keep_position else None,
            "longitude": signals.get(LONGITUDE) if keep_position else None, "speed_kmh": signals.get("Vehicle.Speed"),
            "source": reading.source.value, "message_key": reading.message_key}


def _airbag_crashes(session: Session, airbags: list[tuple[int, Reading, bool]]) -> list[tuple[int, Reading]]:
    """Readings in which an airbag went from not deployed to deployed: a crash, even without a crash event.

    A car keeps reporting a deployed airbag until a workshop resets it, so only the change counts;
    what the car said before this batch is in the twin, read before the batch updates it. A
    reading that already carries a crash event is not given a second one.
    """
    if not any(deployed for _, _, deployed in airbags):
        return []
    vehicle_ids = sorted({vehicle_id for vehicle_id, _, deployed in airbags if deployed})
    # Another worker may hold the car's next message: one at a time reads and moves the twin's airbag.
    hold_per_key(session, bulk.CAR_LOCK, vehicle_ids)
    was_deployed = {vehicle_id: False for vehicle_id in vehicle_ids}
    for vehicle_id, value in bulk.stored_values(session, vehicle_ids=vehicle_ids, path_suffix=AIRBAG_DEPLOYED):
        was_deployed[vehicle_id] = was_deployed[vehicle_id] or value is True
    crashes = []
    for vehicle_id, reading, deployed in sorted(
            (a for a in airbags if a[0] in was_deployed), key=lambda a: (a[0], a[1].measured_at)):
        if deployed and not was_deployed[vehicle_id] and VehicleEvent.CRASH not in reading.events:
            crashes.append((vehicle_id, reading))
        was_deployed[vehicle_id] = deployed
    return crashes


def _mark_seen(session: Session, device_ids: set[int]) -> None:
    """The devices' last contact, to the minute: a car reports every few seconds, and rewriting
    every reporting device's row in every batch was a page in thirty of each commit."""
    if device_ids:
        moment = now()
        devices_table = Device.__table__
        # Core, not ORM: the ORM would look for each device in the session to update it there too.
        session.execute(update(devices_table).where(
            one_of(session, devices_table.c.id, sorted(device_ids)),
            or_(devices_table.c.last_seen_at.is_(None), devices_table.c.last_seen_at < moment - SEEN_PRECISION))
            .values(last_seen_at=moment))
