"""Opening and closing a shared car without a key.

The driver gets a one-time code for the booking window (kept only as a hash); typing it at the car
sends ``unlock`` through ``telematics.commands`` (MQTT to the car's own unit, or Codec 12 to an
aftermarket tracker). A command the car does not acknowledge in time raises ``VehicleCommandFailed``;
``sharing.handlers`` records it on the trip, where the driver and the hub both see it — it is never
assumed to have worked.
"""

from __future__ import annotations


import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, Invalid
from forecourt.core.i18n import _
from forecourt.sharing import hubs
from forecourt.sharing.models import Reservation, TripEvent, UnlockCode
from forecourt.telematics import commands as vehicle_commands
from forecourt.vehicles import service as vehicles_service

EARLY = timedelta(minutes=15)  # a code works this long before the booking starts
COMMAND_DEADLINE = timedelta(seconds=30)


def _hash(reservation_id: int, code: str) -> str:
    return hashlib.sha256(f"{reservation_id}:{code.strip()}".encode()).hexdigest()


def issue_code(*, session: Session, reservation: Reservation) -> str:
    """A fresh six-digit code for the booking window; earlier unused codes of the booking stop working."""
    if reservation.status not in ("booked", "active"):
        raise Conflict(_("Book the car first; a held car has no code yet."), field="status")
    if as_utc(reservation.ends_at) <= now():
        raise Conflict(_("This booking is over; its code has expired."), field="code")
    session.execute(update(UnlockCode).where(UnlockCode.reservation_id == reservation.id,
                                             UnlockCode.used_at.is_(None)).values(used_at=now()))
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(UnlockCode(reservation_id=reservation.id, code_hash=_hash(reservation.id, code),
                           valid_from=as_utc(reservation.starts_at) - EARLY, valid_until=as_utc(reservation.ends_at)))
    session.flush()
    return code


def vin_of(session: Session, reservation: Reservation) -> str:
    car = hubs.get_car(session=session, car_id=reservation.car_id)
    return vehicles_service.get(session=session, vehicle_id=car.vehicle_id).vin


def _send(session: Session, reservation: Reservation, action: str) -> int:
    command = vehicle_commands.request(session=session, vin=vin_of(session, reservation), action=action,
                                       reason=f"sharing:{reservation.number}", deadline=COMMAND_DEADLINE, now=now())
    session.add(TripEvent(reservation_id=reservation.id, kind=action, at=now(),
                          detail={"command_id": command.id}))
    return command.id


def unlock_with_code(*, session: Session, reservation: Reservation, vin: str, code: str) -> int:
    """Checks the code against this car and window, uses it up, and asks the car to unlock."""
    code = (code or "").strip()
    if not code.isdigit() or len(code) != 6:
        raise Invalid(_("The code has six digits."), field="code")
    if vehicles_service.normalise_vin(vin) != vin_of(session, reservation):
        raise Invalid(_("This code is for another car; check the number plate of the car you booked."), field="vin")
    if reservation.status not in ("booked", "active"):
        raise Conflict(_("This booking cannot open the car (it is not booked or is already over)."), field="status")
    if reservation.car_unlocked:
        raise Conflict(_("The car is already unlocked."), field="code")
    found = session.scalars(select(UnlockCode).where(UnlockCode.reservation_id == reservation.id,
                                                     UnlockCode.used_at.is_(None))).all()
    moment = now()
    match = next((c for c in found if hmac.compare_digest(c.code_hash, _hash(reservation.id, code))), None)
    if match is None:
        raise Invalid(_("This code is not valid (it was mistyped, already used or replaced)."), field="code")
    if moment > as_utc(match.valid_until):
        raise Invalid(_("This code has expired: the booking window is over."), field="code")
    if moment < as_utc(match.valid_from):
        raise Invalid(_("This code works from 15 minutes before your booking starts."), field="code")
    match.used_at = moment
    reservation.car_unlocked = True
    command_id = _send(session, reservation, "unlock")
    session.flush()
    return command_id


def unlock_again(*, session: Session, reservation: Reservation) -> int:
    """During a trip the app opens the car again (the code was used at pick-up)."""
    if reservation.status != "active":
        raise Conflict(_("Use your code to open the car at pick-up."), field="status")
    if reservation.car_unlocked:
        raise Conflict(_("The car is already unlocked."), field="status")
    reservation.car_unlocked = True
    command_id = _send(session, reservation, "unlock")
    session.flush()
    return command_id


def lock(*, session: Session, reservation: Reservation) -> int:
    if reservation.status not in ("booked", "active", "returned"):
        raise Conflict(_("This booking cannot lock the car."), field="status")
    if not reservation.car_unlocked:
        raise Conflict(_("The car is already locked."), field="status")
    reservation.car_unlocked = False
    command_id = _send(session, reservation, "lock")
    session.flush()
    return command_id


def command_failed(*, session: Session, reservation_number: str, command_id: int, action: str, why: str) -> None:
    """The car did not do what was asked: recorded on the trip (the driver and the hub see it), and the
    lock state is what it was before the command."""
    reservation = session.scalars(select(Reservation).where(Reservation.number == reservation_number)).first()
    if reservation is None:
        return
    seen = session.scalars(select(TripEvent.id).where(TripEvent.reservation_id == reservation.id,
                                                      TripEvent.kind == "command_failed")).all()
    for event_id in seen:
        event = session.get(TripEvent, event_id)
        if event.detail.get("command_id") == command_id:
            return  # delivered twice: recorded once
    session.add(TripEvent(reservation_id=reservation.id, kind="command_failed", at=now(),
                          detail={"command_id": command_id, "action": action, "why": why}))
    if action == "unlock":
        reservation.car_unlocked = False
    elif action == "lock":
        reservation.car_unlocked = True
    session.flush()


def command_problems(*, session: Session, reservation_ids: list[int]) -> list[TripEvent]:
    if not reservation_ids:
        return []
    return list(session.scalars(select(TripEvent).where(TripEvent.reservation_id.in_(reservation_ids),
                                                        TripEvent.kind == "command_failed")
                                .order_by(TripEvent.at.desc())))
