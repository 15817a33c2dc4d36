"""Courtesy cars going out and coming back: the hand-over, the return, and each car's history.

A booking lends a car for an appointment's hours; the hand-over records the car's state as the driver
drives off (odometer, fuel or charge, damage seen, photos taken), the return the same as it comes back,
and from the two the kilometres driven and how late it came. A returned car is free for the next
booking at once, even before the booking's planned end; a car handed over and not returned is never
offered to anyone else, however late it is (``loaners.free_loaners``).

Only the service staff of the loaner's own dealer record these: a salesperson, another dealer or
anyone else is told the booking does not exist (404). The records are the dealer's own: the car's
condition, not the driver's data.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.auth import Principal, Role
from forecourt.core.clock import as_utc
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.workshop import calendar, loaners
from forecourt.workshop.models import Loaner, LoanerBooking, LoanerHandover

HANDOVER, RETURN = "handover", "return"
NOTES_LIMIT, PHOTOS_LIMIT = 2000, 10
PHOTO_LINK = re.compile(r"^https://[^\s<>\"']{1,490}$")
MAX_ODOMETER_KM = 2_000_000


def _service_dealer(principal: Principal) -> int:
    if principal.role is not Role.DEALER_SERVICE or principal.organization_id is None:
        raise NotFound("Loaner not found")
    return principal.organization_id


def loaner_for(*, session: Session, principal: Principal, loaner_id: int) -> Loaner:
    """A courtesy car of the caller's dealer, for its service staff only; anything else is ``NotFound``."""
    loaner = session.get(Loaner, loaner_id)
    if loaner is None or loaner.dealer_id != _service_dealer(principal):
        raise NotFound("Loaner not found")
    return loaner


def booking_for(*, session: Session, principal: Principal, booking_id: int) -> LoanerBooking:
    booking = session.get(LoanerBooking, booking_id)
    if booking is None:
        raise NotFound("Loaner booking not found")
    loaner_for(session=session, principal=principal, loaner_id=booking.loaner_id)
    return booking


def _check(odometer_km: int, energy_percent: int, damage_notes: str, photos: list[str]) -> tuple[str, list[str]]:
    if not 0 <= odometer_km <= MAX_ODOMETER_KM:
        raise Invalid(_("Give the odometer reading in kilometres (0 to %(limit)s).", limit=MAX_ODOMETER_KM),
                      field="odometer_km")
    if not 0 <= energy_percent <= 100:
        raise Invalid(_("Give the fuel or charge level as a percentage from 0 to 100."), field="energy_percent")
    notes = (damage_notes or "").strip()
    if len(notes) > NOTES_LIMIT:
        raise Invalid(_("Damage notes are limited to %(limit)s characters (you wrote %(count)s).",
                        limit=NOTES_LIMIT, count=len(notes)), field="damage_notes")
    links = [link.strip() for link in photos or [] if link and link.strip()]
    if len(links) > PHOTOS_LIMIT:
        raise Invalid(_("At most %(limit)s photos per hand-over or return.", limit=PHOTOS_LIMIT), field="photos")
    if any(not PHOTO_LINK.match(link) for link in links):
        raise Invalid(_("A photo must be an https:// link to where it is stored."), field="photos")
    return notes, links


def record_handover(*, session: Session, principal: Principal, booking_id: int, odometer_km: int,
                    energy_percent: int, damage_notes: str = "", photos: list[str] | None = None,
                    at: datetime) -> LoanerHandover:
    """The driver takes the courtesy car: its state now, and the car is out until it is returned."""
    booking = booking_for(session=session, principal=principal, booking_id=booking_id)
    if booking.handed_over_at is not None:
        raise Conflict(_("This courtesy car has already been handed over for this booking."))
    notes, links = _check(odometer_km, energy_percent, damage_notes, photos or [])
    # Lock the car: a second hand-over of the same car while it is out is refused.
    session.scalars(select(Loaner).where(Loaner.id == booking.loaner_id).with_for_update()).one()
    if out_now(session=session, loaner_id=booking.loaner_id) is not None:
        raise Conflict(_("This courtesy car is still out with another driver; record its return first."))
    record = LoanerHandover(loaner_id=booking.loaner_id, booking_id=booking.id, kind=HANDOVER,
                            odometer_km=odometer_km, energy_percent=energy_percent, damage_notes=notes,
                            photos=links, recorded_by_user_id=principal.user_id, recorded_at=at)
    booking.handed_over_at = at
    session.add(record)
    session.flush()
    return record


def record_return(*, session: Session, principal: Principal, booking_id: int, odometer_km: int,
                  energy_percent: int, damage_notes: str = "", photos: list[str] | None = None,
                  at: datetime) -> LoanerHandover:
    """The courtesy car is back: its state, how late and how far, and the car is free for the next booking."""
    booking = booking_for(session=session, principal=principal, booking_id=booking_id)
    if booking.handed_over_at is None:
        raise Conflict(_("This courtesy car was never handed over for this booking; record the hand-over first."))
    if booking.returned_at is not None:
        raise Conflict(_("This courtesy car has already been returned."))
    notes, links = _check(odometer_km, energy_percent, damage_notes, photos or [])
    out = session.scalars(select(LoanerHandover).where(LoanerHandover.booking_id == booking.id,
                                                       LoanerHandover.kind == HANDOVER)).one()
    if odometer_km < out.odometer_km:
        raise Invalid(_("The odometer cannot read less than at hand-over (%(km)s km).", km=out.odometer_km),
                      field="odometer_km")
    late = max(0, int((as_utc(at) - as_utc(booking.ends_at)).total_seconds() // 60))
    record = LoanerHandover(loaner_id=booking.loaner_id, booking_id=booking.id, kind=RETURN,
                            odometer_km=odometer_km, energy_percent=energy_percent, damage_notes=notes,
                            photos=links, late_minutes=late, extra_km=odometer_km - out.odometer_km,
                            recorded_by_user_id=principal.user_id, recorded_at=at)
    booking.returned_at = at
    session.add(record)
    session.flush()
    return record


def out_now(*, session: Session, loaner_id: int) -> LoanerBooking | None:
    """The booking the car is out on (handed over, not returned), if any."""
    return session.scalars(select(LoanerBooking).where(
        LoanerBooking.loaner_id == loaner_id, LoanerBooking.handed_over_at.is_not(None),
        LoanerBooking.returned_at.is_(None))).first()


def state_of(booking: LoanerBooking) -> str:
    """booked | out | returned: what the next step for this booking is."""
    if booking.returned_at is not None:
        return "returned"
    return "out" if booking.handed_over_at is not None else "booked"


def _late_text(minutes: int | None) -> str:
    if not minutes:
        return _("on time")
    hours, rest = divmod(minutes, 60)
    if hours:
        return _("%(hours)s h %(minutes)s min late", hours=hours, minutes=rest)
    return _("%(minutes)s min late", minutes=rest)


def describe_record(record: LoanerHandover) -> dict:
    return dict(id=record.id, booking_id=record.booking_id, kind=record.kind, odometer_km=record.odometer_km,
                energy_percent=record.energy_percent, damage_notes=record.damage_notes or "",
                photos=list(record.photos or []), late_minutes=record.late_minutes, extra_km=record.extra_km,
                late_text=_late_text(record.late_minutes) if record.kind == RETURN else "",
                recorded_at=calendar.local(record.recorded_at))


def history(*, session: Session, principal: Principal, loaner_id: int) -> dict:
    """The car and every hand-over and return, newest first, each booking with its state."""
    loaner = loaner_for(session=session, principal=principal, loaner_id=loaner_id)
    bookings = list(session.scalars(select(LoanerBooking).where(LoanerBooking.loaner_id == loaner.id)
                                    .order_by(LoanerBooking.starts_at.desc())))
    records = {(r.booking_id, r.kind): describe_record(r) for r in session.scalars(
        select(LoanerHandover).where(LoanerHandover.loaner_id == loaner.id))}
    rows = [dict(id=b.id, appointment_id=b.appointment_id, starts_local=calendar.local(b.starts_at),
                 ends_local=calendar.local(b.ends_at), state=state_of(b), handover=records.get((b.id, HANDOVER)),
                 returned=records.get((b.id, RETURN))) for b in bookings]
    return dict(loaner=loaner, id=loaner.id, is_active=loaner.is_active, bookings=rows,
                **loaners.vehicle_row(session, loaner.vehicle_id))
