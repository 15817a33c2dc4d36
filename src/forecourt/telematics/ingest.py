"""The ingest pipeline: decoded readings in, committed samples, positions, events and twin out.

Listeners (MQTT, HTTP, TCP) decode, call ``ingest`` inside a transaction, commit, and only then
acknowledge. Each reading carries a ``message_key``; a key already stored means the message was
redelivered or resent, so it is counted as a duplicate and stored no second time. Work is done
per batch with bulk statements, because a fleet reports thousands of messages a second.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Column, MetaData, Table, text, update
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


# The hot tables as plain Core tables whose JSON ``value`` is bound as ready-made JSON text: the
# ORM's bulk path and the JSON type's per-value ``json.dumps`` were a third of an MQTT batch's time.
# Same table names and columns as the models; only how values are bound differs.
_core = MetaData()
# ``measured_at`` is bound as ``_moment`` made it, once per reading rather than once per row.
_SAMPLES = Table(Sample.__tablename__, _core, Column("vehicle_id"), Column("measured_at"), Column("path"),
                 Column("value"))
_TWIN = Table(TwinSignal.__tablename__, _core, Column("vehicle_id", primary_key=True),
              Column("path", primary_key=True), Column("value"), Column("measured_at"))


_TWIN_SCRATCH = "forecourt_twin_incoming"
_TWIN_INCOMING = Table(_TWIN_SCRATCH, MetaData(), *(Column(c.name) for c in _TWIN.columns))


def _copy(session: Session, table: Table, rows: list[dict]) -> bool:
    """PostgreSQL: rows in by COPY, inside the session's transaction. False on other engines."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    names = list(rows[0])
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])
    return True


def _moment(session: Session):
    """How ``UTCDateTime`` binds a moment on this engine: SQLite stores naive UTC text in SQLAlchemy's
    own format (so stored values still compare as text), PostgreSQL takes the aware datetime."""
    def utc(at: datetime) -> datetime:  # a naive moment is UTC, as UTCDateTime reads it
        return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC)

    if session.get_bind().dialect.name != "sqlite":
        return utc
    return lambda at: utc(at).strftime("%Y-%m-%d %H:%M:%S.%f")


def json_text(value: object) -> str:
    """``json.dumps(value)`` (what the JSON column would store), with fast paths for plain numbers."""
    kind = type(value)
    if kind is float and math.isfinite(value):
        return repr(value)  # json.dumps spells a finite float as its repr
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    return json.dumps(value)


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
    # executemany with RETURNING: SQLAlchemy batches it into multi-row statements it compiles once
    # ("insertmanyvalues"); a keyword already stored returns no row.
    return set(session.execute(statement, [{"message_key": k, "received_at": moment} for k in keys]).scalars())


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
    known: dict[tuple[Source, str], tuple[int, int]] = {}  # (device id, vehicle id)
    for source, identifiers in by_source.items():
        for identifier, ids in devices.ids_by_identity(session=session, kind=source, identifiers=identifiers).items():
            known[(source, identifier)] = ids
    accepted: list[tuple[Reading, tuple[int, int]]] = []
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
    consent.preload({device[1] for reading, device in accepted if reading.message_key in fresh})
    samples, positions, vehicle_events, latest = [], [], [], {}
    seen: set[str] = set()
    moment = _moment(session)
    for reading, device in accepted:
        if reading.message_key not in fresh or reading.message_key in seen:
            report.duplicates += 1
            continue
        seen.add(reading.message_key)
        report.stored += 1
        vehicle_id = device[1]
        report.vehicle_ids.add(vehicle_id)
        located = consent.allows(vehicle_id)
        lat, lon = reading.signals.get(LATITUDE), reading.signals.get(LONGITUDE)
        bound_at = moment(reading.measured_at)
        speed = reading.signals.get("Vehicle.Speed")
        for path, value in reading.signals.items():
            if path.startswith(LOCATION_PREFIX):
                if not located:
                    continue
            else:
                samples.append({"vehicle_id": vehicle_id, "measured_at": bound_at, "path": path,
                                "value": json_text(value)})
            current = latest.get((vehicle_id, path))
            if current is None or current[1] <= reading.measured_at:
                latest[(vehicle_id, path)] = (value, reading.measured_at, bound_at)
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
    if samples and not _copy(session, _SAMPLES, samples):
        session.execute(_SAMPLES.insert(), samples)
    if positions and not _copy(session, Position.__table__, positions):
        session.execute(Position.__table__.insert(), positions)
    if vehicle_events:
        session.execute(VehicleEventRecord.__table__.insert(), vehicle_events)
    _update_twin(session, latest)
    _mark_seen(session, {device[0] for _, device in accepted})
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
    rows = [{"vehicle_id": v, "path": p, "value": json_text(value), "measured_at": bound_at}
            for (v, p), (value, _, bound_at) in sorted(latest.items())]  # one order for all writers: no deadlocks
    if session.get_bind().dialect.name == "postgresql":
        # COPY the batch's values into a transaction-scoped scratch table, then one upsert from it:
        # psycopg's executemany sends one statement per row.
        session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {_TWIN_SCRATCH} (vehicle_id integer, "
                             "path varchar(160), value json, measured_at timestamptz) ON COMMIT DELETE ROWS"))
        _copy(session, _TWIN_INCOMING, rows)
        session.execute(text(
            f"INSERT INTO {_TWIN.name} (vehicle_id, path, value, measured_at) "
            f"SELECT vehicle_id, path, value, measured_at FROM {_TWIN_SCRATCH} ORDER BY vehicle_id, path "
            "ON CONFLICT (vehicle_id, path) DO UPDATE SET value = excluded.value, measured_at = excluded.measured_at "
            f"WHERE {_TWIN.name}.measured_at <= excluded.measured_at"))
        session.execute(text(f"DELETE FROM {_TWIN_SCRATCH}"))
        return
    statement = _insert(session, _TWIN)
    statement = statement.on_conflict_do_update(
        index_elements=["vehicle_id", "path"],
        set_={"value": statement.excluded.value, "measured_at": statement.excluded.measured_at},
        where=_TWIN.c.measured_at <= statement.excluded.measured_at,
    )
    session.execute(statement, rows)


def _mark_seen(session: Session, device_ids: set[int]) -> None:
    if device_ids:
        # Core, not ORM: the ORM would look for each device in the session to update it there too.
        session.execute(update(Device.__table__).where(Device.__table__.c.id.in_(sorted(device_ids)))
                        .values(last_seen_at=now()))
