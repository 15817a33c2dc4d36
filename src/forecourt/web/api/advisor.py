"""JSON routes: the service advisor — calendar, pre-arrival brief, loaners, check-in.

Dealer staff only, their own dealer only: another dealer's appointment is a 404. The calendar is the
dealer's own book; the brief and the loaner preset open the owner's data section by section through
the consent door (see ``workshop.brief``). Workshop cannot import customers, so the owner's contact
card and preferences are read here — only when the owner allows this dealer service reminders.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from forecourt.core.clock import now
from forecourt.core.schemas import Day, Id
from forecourt.workshop import brief as brief_service
from forecourt.workshop import calendar, desk, handovers, loaners
from forecourt.workshop.schemas.advisor import (BriefOut, CalendarOut, CheckInOut, FindingsIn, HandoverIn,
                                                HandoverOut, LoanerBookingOut, LoanerChange, LoanerHistoryOut,
                                                LoanerIn, LoanerOut)
from forecourt.web.deps import DbSession, DealerStaff

router = APIRouter(prefix="/api", tags=["workshop: service advisor"])


def _brief_out(view: dict) -> dict:
    loaner = view["loaner"]
    return view | dict(dealer_id=view["dealer"].id, starts_at=view["starts_local"], ends_at=view["ends_local"],
                       loaner=_booking_out(loaner) if loaner else None)


def _booking_out(offered: dict) -> dict:
    return offered | dict(starts_at=offered["starts_local"], ends_at=offered["ends_local"])


@router.get("/advisor/calendar", response_model=CalendarOut)
def day_calendar(principal: DealerStaff, session: DbSession, day: Day | None = None):
    view = calendar.day_of(session=session, principal=principal, day=day or calendar.local(now()).date())
    items = [dict(item, starts_at=item["start_local"], ends_at=item["end_local"],
                  brief_url=f"/workspace/service/appointments/{item['id']}") for item in view["appointments"]]
    return CalendarOut(dealer_id=view["dealer"].id, day=view["day"], bays=view["bays"],
                       opening_hours=view["opening"], appointments=items)


@router.get("/advisor/appointments/{appointment_id}/brief", response_model=BriefOut)
def appointment_brief(appointment_id: Id, principal: DealerStaff, session: DbSession):
    return _brief_out(desk.brief_for(session=session, principal=principal, appointment_id=appointment_id))


@router.post("/advisor/appointments/{appointment_id}/loaner", response_model=LoanerBookingOut,
             status_code=status.HTTP_201_CREATED)
def offer_loaner(appointment_id: Id, principal: DealerStaff, session: DbSession):
    _, prefs = desk.owner_card(session=session, principal=principal, appointment_id=appointment_id)
    offered = loaners.offer_loaner(session=session, principal=principal, appointment_id=appointment_id,
                                   preferences=prefs)
    return _booking_out(offered)


@router.post("/advisor/appointments/{appointment_id}/check-in", response_model=CheckInOut)
def check_in(appointment_id: Id, principal: DealerStaff, session: DbSession):
    appointment = calendar.check_in(session=session, principal=principal, appointment_id=appointment_id)
    flags = brief_service.recall_flags(session=session, appointment=appointment)
    message = ("Checked in. Open recall: " + ", ".join(f["code"] for f in flags) + " — do the remedy while the "
               "car is here.") if flags else "Checked in. No open recalls on this car."
    return CheckInOut(id=appointment.id, status=appointment.status, recalls=flags, message=message)


@router.post("/advisor/appointments/{appointment_id}/findings", response_model=BriefOut)
def record_findings(appointment_id: Id, body: FindingsIn, principal: DealerStaff, session: DbSession):
    """What the advisor found, beside what the driver noticed; the brief as it now reads."""
    calendar.record_findings(session=session, principal=principal, appointment_id=appointment_id,
                             findings=body.findings, at=now())
    return _brief_out(desk.brief_for(session=session, principal=principal, appointment_id=appointment_id))


@router.post("/advisor/loaner-bookings/{booking_id}/handover", response_model=HandoverOut,
             status_code=status.HTTP_201_CREATED)
def loaner_handover(booking_id: Id, body: HandoverIn, principal: DealerStaff, session: DbSession):
    """The driver takes the courtesy car: its odometer, fuel or charge, damage and photos now."""
    record = handovers.record_handover(session=session, principal=principal, booking_id=booking_id, at=now(),
                                       **body.model_dump())
    return handovers.describe_record(record)


@router.post("/advisor/loaner-bookings/{booking_id}/return", response_model=HandoverOut,
             status_code=status.HTTP_201_CREATED)
def loaner_return(booking_id: Id, body: HandoverIn, principal: DealerStaff, session: DbSession):
    """The courtesy car is back: late minutes and kilometres driven are worked out; the car is free again."""
    record = handovers.record_return(session=session, principal=principal, booking_id=booking_id, at=now(),
                                     **body.model_dump())
    return handovers.describe_record(record)


@router.get("/advisor/loaners/{loaner_id}/history", response_model=LoanerHistoryOut)
def loaner_history(loaner_id: Id, principal: DealerStaff, session: DbSession):
    view = handovers.history(session=session, principal=principal, loaner_id=loaner_id)
    return view | dict(bookings=[row | dict(starts_at=row["starts_local"], ends_at=row["ends_local"])
                                 for row in view["bookings"]])


@router.get("/advisor/loaners", response_model=list[LoanerOut])
def loaner_fleet(principal: DealerStaff, session: DbSession):
    return loaners.fleet(session=session, principal=principal, now=now())


@router.post("/advisor/loaners", response_model=LoanerOut, status_code=status.HTTP_201_CREATED)
def add_loaner(body: LoanerIn, principal: DealerStaff, session: DbSession):
    loaner = loaners.add_to_fleet(session=session, principal=principal, vin=body.vin)
    return next(row for row in loaners.fleet(session=session, principal=principal, now=now()) if row["id"] == loaner.id)


@router.patch("/advisor/loaners/{loaner_id}", response_model=LoanerOut)
def change_loaner(loaner_id: Id, body: LoanerChange, principal: DealerStaff, session: DbSession):
    loaners.set_active(session=session, principal=principal, loaner_id=loaner_id, active=body.is_active)
    return next(row for row in loaners.fleet(session=session, principal=principal, now=now()) if row["id"] == loaner_id)
