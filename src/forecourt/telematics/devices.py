"""The device registry: which embedded unit, phone or tracker reports for which car, with what secret."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from forecourt.core import auth
from forecourt.core.db import bulk_rows, one_of
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.telematics.models import Device
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service


def register(*, session: Session, kind: Source, identifier: str, vehicle_id: int,
             label: str | None = None) -> tuple[Device, str]:
    """Bind a device to a car; returns the device and its secret (shown once, stored as a digest)."""
    identifier = identifier.strip()
    if kind is Source.EMBEDDED:
        identifier = vehicles_service.normalise_vin(identifier)
        if identifier != vehicles_service.get(session=session, vehicle_id=vehicle_id).vin:
            raise Invalid("An embedded unit reports under its own car's VIN.", field="identifier")
    elif kind is Source.TRACKER and not (identifier.isdigit() and len(identifier) == 15):
        raise Invalid("A tracker is identified by its 15-digit IMEI.", field="identifier")
    elif kind is Source.PHONE and not (6 <= len(identifier) <= 64):
        raise Invalid("A phone id has 6 to 64 characters.", field="identifier")
    vehicles_service.get(session=session, vehicle_id=vehicle_id)
    if session.scalars(select(Device.id).where(Device.kind == kind.value, Device.identifier == identifier)).first():
        raise Conflict(f"A {kind.value} device '{identifier}' is already registered.", field="identifier")
    secret = auth.new_token()
    device = Device(kind=kind.value, identifier=identifier, vehicle_id=vehicle_id, label=label,
                    secret_digest=auth.token_digest(secret))
    session.add(device)
    session.flush()
    return device, secret


def by_identity(*, session: Session, kind: Source, identifiers: set[str]) -> dict[str, Device]:
    """Active devices by identifier, in one query for a whole batch."""
    if not identifiers:
        return {}
    rows = session.scalars(select(Device).where(Device.kind == kind.value, Device.identifier.in_(identifiers),
                                                Device.is_active.is_(True)))
    return {d.identifier: d for d in rows}


def ids_by_identity(*, session: Session, kind: Source, identifiers: set[str]) -> dict[str, tuple[int, int]]:
    """``by_identity`` for the ingest path: (device id, vehicle id) per identifier, without loading
    ORM objects (a batch names a couple of thousand devices)."""
    return {identifier: (device_id, vehicle_id) for identifier, device_id, vehicle_id in bulk_rows(
        session, select(Device.identifier, Device.id, Device.vehicle_id).where(
            Device.kind == kind.value, one_of(session, Device.identifier, sorted(identifiers)),
            Device.is_active.is_(True)))}


def authenticate(*, session: Session, kind: Source, identifier: str, secret: str) -> Device:
    device = by_identity(session=session, kind=kind, identifiers={identifier}).get(identifier)
    if device is None or device.secret_digest != auth.token_digest(secret or ""):
        raise NotFound("Unknown device or wrong secret")
    return device


def devices_of(*, session: Session, vehicle_id: int) -> list[Device]:
    return list(session.scalars(select(Device).where(Device.vehicle_id == vehicle_id).order_by(Device.id)))


def deactivate(*, session: Session, device_id: int) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound("Device not found")
    device.is_active = False
    session.flush()
    return device


def rejection_summary(*, session: Session, since=None) -> list[dict]:
    """Refused messages counted per channel and reason, newest first, for the people who run ingest."""
    from sqlalchemy import func

    from forecourt.telematics.models import Rejection

    query = select(Rejection.channel, Rejection.reason, func.count(Rejection.id), func.max(Rejection.at))
    if since is not None:
        query = query.where(Rejection.at >= since)
    rows = session.execute(query.group_by(Rejection.channel, Rejection.reason)
                           .order_by(func.max(Rejection.at).desc()).limit(200))
    return [{"channel": c, "reason": r, "count": n, "last_at": at} for c, r, n, at in rows]


def keep_statuses(*, session: Session, statuses: dict[int, tuple]) -> None:
    """Each device's newest own status (``{device id: (measured at, status)}``); an older report
    never replaces a newer one. Phones send a few a minute at most, so one statement each."""
    devices_table = Device.__table__
    for device_id, (measured_at, status) in sorted(statuses.items()):
        session.execute(update(devices_table).where(
            devices_table.c.id == device_id,
            or_(devices_table.c.status_at.is_(None), devices_table.c.status_at <= measured_at))
            .values(status=status, status_at=measured_at))
