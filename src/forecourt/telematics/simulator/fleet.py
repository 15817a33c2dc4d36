"""Which cars the simulator drives, and the devices it reports through.

Cars are picked from the database, preferring those whose owner lets the carmaker see positions
(so the map has something to show; nobody's consent is granted here — that is the owner's choice),
then any owned car, then unsold stock. Each car gets a device of the kind the transport needs:

* embedded — the VIN, with a fresh secret. Secrets are kept as digests, so an old one cannot be
  recovered: the simulator re-keys a unit it registered itself, and leaves alone any car whose
  embedded unit someone else registered (it never impersonates a real device).
* phone — ``sim-phone-<VIN>``, re-keyed the same way: its token goes into the URL it reports to,
  as a paired phone's app does; trackers — a synthetic IMEI with a valid Luhn check digit, made
  from the car's id under a reporting-body prefix no real handset uses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import auth
from forecourt.core.clock import now
from forecourt.core.errors import NotFound
from forecourt.parties import service as parties_service
from forecourt.telematics import devices
from forecourt.telematics.models import Device
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service

if TYPE_CHECKING:
    from forecourt.vehicles.models import Vehicle

LABEL = "forecourt simulator"
IMEI_PREFIX = "35999900"  # 8-digit type allocation code shape; 999900 is not allocated to a maker
TRANSPORT_KINDS = {"mqtt": Source.EMBEDDED, "http": Source.EMBEDDED, "osmand": Source.PHONE,
                   "teltonika": Source.TRACKER}


@dataclass(frozen=True)
class SimVehicle:
    vehicle_id: int
    vin: str
    device_id: str  # what the device calls itself on the wire
    secret: str | None  # an embedded unit's bearer secret over HTTP; a phone's token in its URL
    odometer_km: float | None = None  # what its odometer plausibly reads now (``prepare`` fills it in)


def luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return str((10 - total % 10) % 10)


def imei_for(vehicle_id: int) -> str:
    body = IMEI_PREFIX + f"{vehicle_id % 10**6:06d}"
    return body + luhn_digit(body)


def phone_id_for(vin: str) -> str:
    return f"sim-phone-{vin}"


def pick_vehicles(*, session: Session, count: int, rng: Random, first: tuple[int, ...] = ()) -> list[Vehicle]:
    """``first`` (those that exist), then cars whose owner lets the carmaker see positions, then other owned
    cars, then unsold ones."""
    ids = vehicles_service.all_vehicle_ids(session=session)
    owned = vehicles_service.current_owners(session=session, vehicle_ids=ids)
    try:
        operator = parties_service.carmaker(session=session).id
    except NotFound:
        operator = None
    owned_ids = [v for v in ids if v in owned]
    pool = rng.sample(owned_ids, min(len(owned_ids), max(200, count * 4)))
    granting = set() if operator is None else consent_service.customers_granting(
        session=session, organization_id=operator, purpose_code="location_services",
        customer_ids={owned[v] for v in pool})
    located = [v for v in pool if owned[v] in granting]
    others = [v for v in pool if owned[v] not in granting]
    rng.shuffle(others)
    unsold = [v for v in ids if v not in owned]
    known = set(ids)
    leading = [v for v in dict.fromkeys(first) if v in known]
    chosen = (leading + [v for v in located + others + unsold if v not in leading])[:count]
    return [vehicles_service.get(session=session, vehicle_id=v) for v in chosen]


def ensure_device(*, session: Session, vehicle: Vehicle, kind: Source) -> SimVehicle | None:
    """The car's device of ``kind``, registered or re-keyed for the simulator; None if not ours."""
    identifier = {Source.EMBEDDED: vehicle.vin, Source.PHONE: phone_id_for(vehicle.vin),
                  Source.TRACKER: imei_for(vehicle.id)}[kind]
    existing = session.scalars(select(Device).where(Device.kind == kind.value,
                                                    Device.identifier == identifier)).first()
    if existing is None:
        _, secret = devices.register(session=session, kind=kind, identifier=identifier, vehicle_id=vehicle.id,
                                     label=LABEL)
    elif existing.label == LABEL and existing.vehicle_id == vehicle.id:
        secret = auth.new_token()
        existing.secret_digest, existing.is_active = auth.token_digest(secret), True
        session.flush()
    else:
        return None
    return SimVehicle(vehicle_id=vehicle.id, vin=vehicle.vin, device_id=identifier,
                      secret=secret if kind in (Source.EMBEDDED, Source.PHONE) else None)


def prepare(*, session: Session, count: int, via: str, rng: Random, first: tuple[int, ...] = ()) -> list[SimVehicle]:
    """Up to ``count`` cars with devices for transport ``via`` (``first`` among them); the caller commits."""
    kind = TRANSPORT_KINDS[via]
    chosen: list[SimVehicle] = []
    for vehicle in pick_vehicles(session=session, count=count * 2, rng=rng, first=first):
        sim = ensure_device(session=session, vehicle=vehicle, kind=kind)
        if sim is not None:
            chosen.append(sim)
        if len(chosen) == count:
            break
    readings = vehicles_service.likely_odometers_km(session=session, vehicle_ids=[c.vehicle_id for c in chosen],
                                                    today=now().date())
    return [replace(c, odometer_km=readings.get(c.vehicle_id)) for c in chosen]
