"""Pages: the service advisor — the calendar by bay, the pre-arrival brief, loaners.

Dealer staff only, their own dealer only (another dealer's appointment is the ordinary 404 page).
The brief shows each section the owner shared and says "Not shared by the owner" for the others; see
``workshop.brief``. Actions (offer a loaner, check in, fleet changes) post, redirect and say what
happened in a flash message, or why not as ``?error=``, so a reload never repeats them.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from forecourt.core.auth import Principal, Role
from forecourt.core.clock import now
from forecourt.core.errors import Conflict, Invalid
from forecourt.core.schemas import Id
from forecourt.workshop import calendar, desk, handovers, loaners
from forecourt.web.deps import DEALER_ROLES, DbSession, StaffPage
from forecourt.core.i18n import _
from forecourt.web.views.forms import Form, back_to, text, whole_number
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])

SEVERITY_CLASS = {"stop_safely": "bad", "service_soon": "warn", "info": "muted"}


def _dealer_only(principal: Principal) -> Principal:
    if principal.role not in DEALER_ROLES:
        raise HTTPException(status_code=404, detail="Not found")
    return principal



def _act(session, url: str, action, done) -> Response:
    """A refused action leaves nothing half done (a savepoint) and says why on the page."""
    try:
        with session.begin_nested():
            result = action()
    except (Invalid, Conflict) as problem:
        return back_to(url, error=problem.message)
    return back_to(url, flash=done(result) if callable(done) else done)


@router.get("/workspace/service/calendar")
def service_calendar(request: Request, principal: StaffPage, session: DbSession, day: str | None = None):
    _dealer_only(principal)
    today = calendar.local(now()).date()
    error = None
    try:
        chosen = date.fromisoformat(day) if day else today
    except ValueError:
        chosen, error = today, f"{day!r} is not a date; showing today."
    view = calendar.day_of(session=session, principal=principal, day=chosen)
    return render(request, "workshop/calendar.html", view=view, today=today, error=error)


@router.get("/workspace/service/appointments/{appointment_id}")
def appointment_brief(request: Request, appointment_id: Id, principal: StaffPage, session: DbSession,
                      error: str | None = None):
    _dealer_only(principal)
    view = desk.brief_for(session=session, principal=principal, appointment_id=appointment_id)
    loaner = view["loaner"]
    return render(request, "workshop/brief.html", view=view, error=error, severity_class=SEVERITY_CLASS,
                  loaner_state=handovers.state_of(loaners.booking_of(session=session, appointment_id=appointment_id))
                  if loaner else None, may_hand_over=principal.role is Role.DEALER_SERVICE)


@router.post("/workspace/service/appointments/{appointment_id}/loaner")
def offer_loaner(appointment_id: Id, principal: StaffPage, session: DbSession):
    _dealer_only(principal)
    url = f"/workspace/service/appointments/{appointment_id}"

    def lend():
        _, prefs = desk.owner_card(session=session, principal=principal, appointment_id=appointment_id)
        return loaners.offer_loaner(session=session, principal=principal, appointment_id=appointment_id,
                                    preferences=prefs)
    return _act(session, url, lend, lambda offered: _("Courtesy car: %(car)s (%(vin)s).", car=offered['car'], vin=offered['vin']))


@router.post("/workspace/service/appointments/{appointment_id}/check-in")
def check_in(appointment_id: Id, principal: StaffPage, session: DbSession):
    _dealer_only(principal)
    url = f"/workspace/service/appointments/{appointment_id}"
    return _act(session, url, lambda: calendar.check_in(session=session, principal=principal,
                                                        appointment_id=appointment_id), _("Checked in."))


@router.post("/workspace/service/appointments/{appointment_id}/findings")
def record_findings(appointment_id: Id, principal: StaffPage, session: DbSession, form: Form):
    _dealer_only(principal)
    url = f"/workspace/service/appointments/{appointment_id}"
    return _act(session, url, lambda: calendar.record_findings(session=session, principal=principal,
                                                               appointment_id=appointment_id,
                                                               findings=str(form.get("findings") or ""), at=now()),
                _("Findings saved."))


def _condition(form) -> dict:
    """The hand-over and return form: whole numbers or ``Invalid`` naming the field, notes, photo links."""
    values = {}
    for name, message in (("odometer_km", _("Give the odometer reading in kilometres.")),
                          ("energy_percent", _("Give the fuel or charge level as a percentage from 0 to 100."))):
        number = whole_number(text(form, name))
        if number is None:
            raise Invalid(message, field=name)
        values[name] = number
    photos = [line for line in str(form.get("photos") or "").splitlines() if line.strip()]
    return values | dict(damage_notes=str(form.get("damage_notes") or ""), photos=photos)


def _loaner_step(session, principal: Principal, booking_id: int, form, record) -> Response:
    """A hand-over or return, answered on the page it was made from (the brief, or the car's history)."""
    loaner_booking = handovers.booking_for(session=session, principal=principal, booking_id=booking_id)
    back = (f"/workspace/service/loaners/{loaner_booking.loaner_id}" if text(form, "from") == "history"
            else f"/workspace/service/appointments/{loaner_booking.appointment_id}")
    return _act(session, back, lambda: record(session=session, principal=principal, booking_id=booking_id,
                                              at=now(), **_condition(form)), _describe_step)


def _describe_step(record) -> str:
    if record.kind == handovers.HANDOVER:
        return _("Handed over at %(km)s km, %(percent)s %% fuel or charge.", km=record.odometer_km,
                 percent=record.energy_percent)
    view = handovers.describe_record(record)
    return _("Returned: %(extra)s km driven, %(late)s. The car is free for the next booking.",
             extra=record.extra_km, late=view["late_text"])


@router.post("/workspace/service/loaner-bookings/{booking_id}/handover")
def loaner_handover(booking_id: Id, principal: StaffPage, session: DbSession, form: Form):
    return _loaner_step(session, principal, booking_id, form, handovers.record_handover)


@router.post("/workspace/service/loaner-bookings/{booking_id}/return")
def loaner_return(booking_id: Id, principal: StaffPage, session: DbSession, form: Form):
    return _loaner_step(session, principal, booking_id, form, handovers.record_return)


@router.get("/workspace/service/loaners/{loaner_id}")
def loaner_history(request: Request, loaner_id: Id, principal: StaffPage, session: DbSession,
                   error: str | None = None):
    view = handovers.history(session=session, principal=principal, loaner_id=loaner_id)
    return render(request, "workshop/loaner.html", view=view, error=error)


@router.get("/workspace/service/loaners")
def loaner_fleet(request: Request, principal: StaffPage, session: DbSession, error: str | None = None):
    _dealer_only(principal)
    return render(request, "workshop/loaners.html", error=error,
                  fleet=loaners.fleet(session=session, principal=principal, now=now()),
                  stock=loaners.stock_candidates(session=session, principal=principal))


@router.post("/workspace/service/loaners")
def add_loaner(principal: StaffPage, session: DbSession, form: Form):
    _dealer_only(principal)
    vin = (text(form, "vin") or "").upper()
    return _act(session, "/workspace/service/loaners",
                lambda: loaners.add_to_fleet(session=session, principal=principal, vin=vin),
                _("%(vin)s is now a courtesy car.", vin=vin))


@router.post("/workspace/service/loaners/{loaner_id}/active")
def loaner_active(loaner_id: Id, principal: StaffPage, session: DbSession, form: Form):
    _dealer_only(principal)
    active = text(form, "active") == "yes"
    return _act(session, "/workspace/service/loaners",
                lambda: loaners.set_active(session=session, principal=principal, loaner_id=loaner_id, active=active),
                "Back in the courtesy fleet." if active else "Taken out of the courtesy fleet.")
