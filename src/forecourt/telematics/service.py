"""What the rest of Forecourt asks of telematics: the twin, positions, retention, and a driver's
telemetry for export and erasure (raw telemetry goes when its driver is erased)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import and_, bindparam, delete, or_, select
from sqlalchemy.orm import Session

from forecourt.core import partitions
from forecourt.core.clock import as_utc, now
from forecourt.core.db import bulk_rows, ids_value, one_of_ids
from forecourt.telematics import devices, trips
from forecourt.telematics.models import Position, Sample, Trip, TwinSignal, VehicleCommand, VehicleEventRecord
from forecourt.telematics.readings import Source, VehicleEvent
from forecourt.vehicles import service as vehicles_service


def vehicle_of_embedded_unit(*, session: Session, vin: str) -> int | None:
    """The car whose registered embedded unit has this VIN (an eCall over MQTT names only its VIN)."""
    device = devices.by_identity(session=session, kind=Source.EMBEDDED, identifiers={vin}).get(vin)
    return device.vehicle_id if device is not None else None


def owned_since(*, session: Session, vehicle_id: int) -> datetime | None:
    """Since when the car's current owner has had it (None: nobody owns it)."""
    ownership = vehicles_service.current_ownership(session=session, vehicle_id=vehicle_id)
    return ownership.started_at if ownership is not None else None


def twin_of(*, session: Session, vehicle_id: int) -> dict[str, tuple[object, datetime]]:
    """The car's latest value per signal, as far as it belongs to the current owner: only what the car
    reported since they have had it, so a buyer never sees where the seller last parked it."""
    query = select(TwinSignal).where(TwinSignal.vehicle_id == vehicle_id)
    since = owned_since(session=session, vehicle_id=vehicle_id)
    if since is not None:
        query = query.where(TwinSignal.measured_at >= since)
    return {row.path: (row.value, row.measured_at) for row in session.scalars(query.order_by(TwinSignal.path))}


def crashed_since(*, session: Session, since: dict[int, datetime]) -> set[int]:
    """Which of these cars recorded a crash (a crash event, or an airbag that went off) since the moment
    given for each: one query, for a fleet map that must know which of its cars are in a crash."""
    if not since:
        return set()
    rows = session.execute(select(VehicleEventRecord.vehicle_id, VehicleEventRecord.measured_at).where(
        VehicleEventRecord.vehicle_id.in_(list(since)), VehicleEventRecord.kind == VehicleEvent.CRASH.value,
        VehicleEventRecord.measured_at >= min(since.values())))
    return {vehicle_id for vehicle_id, at in rows if as_utc(at) >= as_utc(since[vehicle_id])}


def positions_of(*, session: Session, vehicle_id: int, since: datetime | None = None,
                 until: datetime | None = None, limit: int = 5000) -> list[Position]:
    query = select(Position).where(Position.vehicle_id == vehicle_id)
    if since is not None:
        query = query.where(Position.measured_at >= since)
    if until is not None:
        query = query.where(Position.measured_at <= until)
    return list(session.scalars(query.order_by(Position.measured_at.desc()).limit(limit)))[::-1]


def rejection_counts(*, session: Session) -> dict[str, int]:
    """Refused messages so far, by channel (every refusal is a row, so every process's are counted)."""
    from sqlalchemy import func

    from forecourt.telematics.models import Rejection

    return dict(session.execute(select(Rejection.channel, func.count(Rejection.id)).group_by(Rejection.channel)).all())


def prune_positions(*, session: Session, older_than_days: int) -> dict:
    """Retention: raw positions older than the limit go, and the routes drawn from them; SOS and
    crash positions stay with their events. The count of positions in detached partitions is
    PostgreSQL's estimate of their rows (``partitions`` says how many months went whole); their
    files go with ``partitions.drop_all_detached``, after the caller's commit."""
    cutoff = now() - timedelta(days=older_than_days)
    # PostgreSQL: whole months before the cutoff are detached (instant, whatever their size);
    # the rest of the cutoff's month is deleted row by row, as on SQLite.
    dropped, dropped_rows = partitions.detach_before(session=session, table=Position.__tablename__, cutoff=cutoff)
    deleted = session.execute(delete(Position).where(Position.measured_at < cutoff)).rowcount
    return {"positions": deleted + dropped_rows, "partitions": dropped,
            "routes": trips.forget_routes(session=session, older_than_days=older_than_days)}


def _owner_periods(session: Session, customer_id: int):
    """(vehicle, from, until) for each car the customer owned: their telemetry is what fell inside."""
    return [(o.vehicle_id, o.started_at, o.ended_at)
            for o in vehicles_service.ownerships_of(session=session, customer_id=customer_id)]


def _within(model, periods):
    clauses = [and_(model.vehicle_id == vehicle_id, model.measured_at >= start,
                    *([model.measured_at < end] if end is not None else []))
               for vehicle_id, start, end in periods]
    return or_(*clauses) if clauses else False


def _commands_within(periods):
    """Commands sent to the customer's cars while they owned them (unlocking is something they did)."""
    return or_(*[and_(VehicleCommand.vehicle_id == vehicle_id, VehicleCommand.issued_at >= start,
                      *([VehicleCommand.issued_at < end] if end is not None else []))
                 for vehicle_id, start, end in periods])


def telemetry_of_owner(*, session: Session, customer_id: int) -> dict:
    """For "download my data": what the customer's cars reported while they owned them, and the
    commands sent to them."""
    periods = _owner_periods(session, customer_id)
    if not periods:
        return {"positions": [], "vehicle_events": [], "samples": [], "trips": [], "commands": []}
    owned_trips = or_(*[and_(Trip.vehicle_id == vehicle_id, Trip.started_at >= start,
                             *([Trip.started_at < end] if end is not None else []))
                        for vehicle_id, start, end in periods])
    return {
        "trips": [dict(vehicle_id=t.vehicle_id, started_at=t.started_at.isoformat(),
                       ended_at=t.ended_at.isoformat(), distance_km=t.distance_km, route=t.route)
                  for t in session.scalars(select(Trip).where(owned_trips).order_by(Trip.started_at))],
        "positions": [dict(vehicle_id=p.vehicle_id, measured_at=p.measured_at.isoformat(), latitude=p.latitude,
                           longitude=p.longitude, speed_kmh=p.speed_kmh)
                      for p in session.scalars(select(Position).where(_within(Position, periods))
                                               .order_by(Position.measured_at))],
        "vehicle_events": [dict(vehicle_id=e.vehicle_id, kind=e.kind, measured_at=e.measured_at.isoformat(),
                                latitude=e.latitude, longitude=e.longitude)
                           for e in session.scalars(select(VehicleEventRecord)
                                                    .where(_within(VehicleEventRecord, periods))
                                                    .order_by(VehicleEventRecord.measured_at))],
        "samples": [dict(vehicle_id=s.vehicle_id, measured_at=s.measured_at.isoformat(), path=s.path, value=s.value)
                    for s in session.scalars(select(Sample).where(_within(Sample, periods))
                                             .order_by(Sample.measured_at))],
        "commands": [dict(vehicle_id=c.vehicle_id, action=c.action, status=c.status, issued_at=c.issued_at.isoformat(),
                          answered_at=c.answered_at.isoformat() if c.answered_at else None, answer=c.answer)
                     for c in session.scalars(select(VehicleCommand).where(_commands_within(periods))
                                              .order_by(VehicleCommand.issued_at))],
    }


def erase_owner_telemetry(*, session: Session, customer_id: int) -> dict:
    """Erasure: the raw telemetry of the customer's ownership periods is deleted, and the twin of a
    car they still own (it describes them right now)."""
    periods = _owner_periods(session, customer_id)
    if not periods:
        return {"samples": 0, "positions": 0, "vehicle_events": 0, "twin": 0, "trips": 0, "commands": 0}
    current = [vehicle_id for vehicle_id, _, end in periods if end is None]
    return {
        "trips": sum(trips.delete_trips(session=session, vehicle_id=vehicle_id, since=start, until=end)
                     for vehicle_id, start, end in periods),
        "samples": session.execute(delete(Sample).where(_within(Sample, periods))).rowcount,
        "positions": session.execute(delete(Position).where(_within(Position, periods))).rowcount,
        "vehicle_events": session.execute(delete(VehicleEventRecord)
                                          .where(_within(VehicleEventRecord, periods))).rowcount,
        "twin": session.execute(delete(TwinSignal).where(TwinSignal.vehicle_id.in_(current))).rowcount
        if current else 0,
        "commands": session.execute(delete(VehicleCommand).where(_commands_within(periods))).rowcount,
    }


def trips_within(*, session: Session, vehicle_id: int, since: datetime, until: datetime | None = None,
                 limit: int = 20) -> list[Trip]:
    """Newest first, only trips that started inside one ownership (``until`` None: up to now).

    A car's trips belong to whoever owned it when they were driven: after a sale the former owner
    keeps seeing their own drives and never the buyer's, and the buyer never sees the seller's.
    """
    query = select(Trip).where(Trip.vehicle_id == vehicle_id, Trip.started_at >= since)
    if until is not None:
        query = query.where(Trip.started_at < until)
    return list(session.scalars(query.order_by(Trip.started_at.desc()).limit(limit)))


def latest_of(*, session: Session, vehicle_ids: list[int], paths: tuple[str, ...]) -> dict[int, dict[str, object]]:
    """The latest value of a few signals for many cars nobody owns (a dealer's or a sharing hub's cars), in
    one query; a car somebody owns is left out (its twin belongs to its owner, ``twin_of``)."""
    if not vehicle_ids:
        return {}
    dialect = session.get_bind().dialect.name
    found: dict[int, dict[str, object]] = {}
    bound = {"ids": ids_value(dialect, vehicle_ids)} | {f"path{n}": path for n, path in enumerate(paths)}
    for vehicle_id, path, value in bulk_rows(session, _latest_statement(dialect, len(paths)), bound):
        found.setdefault(vehicle_id, {})[path] = value
    return found


def latest_value(vehicle_id_column, path: str):
    """A column of another domain's statement: the car's latest value of ``path`` in its twin, if nobody
    owns the car (as ``latest_of``); the map search reads its cars' charge and fuel with it, in its
    own query."""
    return (select(TwinSignal.value).where(TwinSignal.vehicle_id == vehicle_id_column, TwinSignal.path == path,
                                           ~vehicles_service.owned_now(TwinSignal.vehicle_id))
            .scalar_subquery())


@lru_cache(maxsize=32)
def _latest_statement(dialect: str, paths: int):
    """Built once per engine and number of signals: the map search asks it for every answer."""
    return select(TwinSignal.vehicle_id, TwinSignal.path, TwinSignal.value).where(
        one_of_ids(dialect, TwinSignal.vehicle_id, "ids"), TwinSignal.path.in_(
            [bindparam(f"path{n}", type_=TwinSignal.path.type) for n in range(paths)]),
        ~vehicles_service.owned_now(TwinSignal.vehicle_id))
