"""The device registry: which embedded unit, phone or tracker reports for which car, with what secret."""

from __future__ import annotations

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from forecourt.core import auth
from forecourt.core.db import bulk_rows, one_of
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.telematics.models import Device
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service


def register(*, session: Session, kind: Source, identifier: str, vehicle_id: int,
             label: str | None = None, ownership_id: int | None = None) -> tuple[Device, str]:
    """Bind a device to a car; returns the device and its secret (shown once, stored as a digest).

    ``ownership_id``: the owner's period in which the owner paired it (their phone), so it stops
    reporting when the car changes hands; the carmaker's devices have none."""
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
                    secret_digest=auth.token_digest(secret), ownership_id=ownership_id)
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


def unpair_for_new_owner(*, session: Session, vehicle_id: int, ownership_id: int | None) -> list[dict]:
    """When a car changes hands the previous owner's devices stop reporting as the car: every phone (a
    phone is always a person's) and anything else paired during their ownership (``ownership_id``).
    The rows go, so the same phone can be paired to its owner's next car; what they were is returned
    for the messages to both owners."""
    owned = Device.ownership_id == ownership_id if ownership_id is not None else false()
    found = list(session.scalars(select(Device).where(Device.vehicle_id == vehicle_id,
                                                      or_(Device.kind == Source.PHONE.value, owned))))
    gone = [dict(kind=device.kind, identifier=device.identifier, label=device.label) for device in found]
    for device in found:
        session.delete(device)
    session.flush()
    return gone


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
