"""The device registry: which embedded unit, phone or tracker reports for which car, with what secret.

Every device has a random secret of which only the SHA-256 digest is kept. An embedded car sends
its secret as a bearer token. A phone's app (the Traccar Client) can send nothing but its server
URL and its own id, so a phone's secret is the last segment of that URL (``/osmand/<token>``): the
URL is the credential, and the id must be the one paired with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import false, func, or_, select, update
from sqlalchemy.orm import Session

from forecourt.core import auth
from forecourt.core.db import bulk_rows, one_of
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.telematics.models import Device, Rejection
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
            raise Invalid(_("An embedded unit reports under its own car's VIN."), field="identifier")
    elif kind is Source.TRACKER and not (identifier.isdigit() and len(identifier) == 15):
        raise Invalid(_("A tracker is identified by its 15-digit IMEI."), field="identifier")
    elif kind is Source.PHONE and not (6 <= len(identifier) <= 64):
        raise Invalid(_("A phone id has 6 to 64 characters."), field="identifier")
    vehicles_service.get(session=session, vehicle_id=vehicle_id)
    if session.scalars(select(Device.id).where(Device.kind == kind.value, Device.identifier == identifier)).first():
        raise Conflict(_("A %(value)s device '%(identifier)s' is already registered.", value=kind.value, identifier=identifier), field="identifier")
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


# The one answer to a report from a device we cannot vouch for: unknown, inactive, or the wrong secret.
UNKNOWN_DEVICE = "unknown device or wrong secret"


def authenticate(*, session: Session, kind: Source, identifier: str, secret: str) -> Device:
    device = by_identity(session=session, kind=kind, identifiers={identifier}).get(identifier)
    if device is None or device.secret_digest != auth.token_digest(secret or ""):
        raise NotFound("Unknown device or wrong secret")
    return device


def pair_phone(*, session: Session, vehicle_id: int, identifier: str, label: str | None,
               ownership_id: int | None = None) -> tuple[Device, str]:
    """The owner pairs the phone app that reports for their car; returns the device and its token.

    Pairing the same phone with the same car again gives a new token and the old one stops working
    (a lost or shared URL is replaced by pairing again). A phone removed from another car may be
    paired with this one; a phone that still reports for another car may not."""
    identifier = identifier.strip()
    existing = session.scalars(select(Device).where(Device.kind == Source.PHONE.value,
                                                    Device.identifier == identifier)).first()
    if existing is None or (existing.vehicle_id != vehicle_id and existing.is_active):
        return register(session=session, kind=Source.PHONE, identifier=identifier, vehicle_id=vehicle_id,
                        label=label, ownership_id=ownership_id)
    vehicles_service.get(session=session, vehicle_id=vehicle_id)
    token = auth.new_token()
    existing.vehicle_id, existing.secret_digest, existing.is_active, existing.label = (
        vehicle_id, auth.token_digest(token), True, label)
    existing.ownership_id = ownership_id
    session.flush()
    return existing, token


def phone_by_token(*, session: Session, token: str) -> Device | None:
    """The active phone whose token this is. A missing token is looked up like a wrong one, so the
    answer takes the same path whatever was sent."""
    return session.scalars(select(Device).where(Device.kind == Source.PHONE.value,
                                                Device.secret_digest == auth.token_digest(token or ""),
                                                Device.is_active.is_(True))).first()


def failed_attempts(*, session: Session, address: str, since: datetime) -> int:
    """Reports from this client refused as an unknown device or a wrong secret, since ``since``."""
    return session.scalar(select(func.count(Rejection.id)).where(
        Rejection.address == address, Rejection.at >= since, Rejection.reason == UNKNOWN_DEVICE)) or 0


def unpair(*, session: Session, vehicle_id: int, device_id: int) -> Device:
    """The owner removes a phone from their car: its token stops working at once."""
    device = session.get(Device, device_id)
    if device is None or device.vehicle_id != vehicle_id or device.kind != Source.PHONE.value:
        raise NotFound("Device not found")
    device.is_active = False
    session.flush()
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


def keep_statuses(*, session: Session, statuses: dict[int, tuple]) -> None:
    """Each device's newest own status (``{device id: (measured at, status)}``); an older report
    never replaces a newer one. Phones send a few a minute at most, so one statement each."""
    devices_table = Device.__table__
    for device_id, (measured_at, status) in sorted(statuses.items()):
        session.execute(update(devices_table).where(
            devices_table.c.id == device_id,
            or_(devices_table.c.status_at.is_(None), devices_table.c.status_at <= measured_at))
            .values(status=status, status_at=measured_at))
