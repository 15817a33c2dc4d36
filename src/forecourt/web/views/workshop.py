"""Pages: the service advisor — the calendar by bay, the pre-arrival brief, loaners.

Dealer staff only, their own dealer only (another dealer's appointment is the ordinary 404 page).
The brief shows each section the owner shared and says "Not shared by the owner" for the others; see
``workshop.brief``. Actions (offer a loaner, check in, fleet changes) post, redirect and say what
happened in a flash message, or why not as ``?error=``, so a reload never repeats them.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote_plus

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from forecourt.core.auth import Principal
from forecourt.core.clock import now
from forecourt.core.errors import Conflict, Invalid
from forecourt.core.schemas import Id
from forecourt.workshop import calendar, loaners
from forecourt.web.api.advisor import brief_for, owner_card
from forecourt.web.deps import DEALER_ROLES, DbSession, StaffPage
from forecourt.web.views.forms import Form, text
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])

SEVERITY_CLASS = {"stop_safely": "bad", "service_soon": "warn", "info": "muted"}


def _dealer_only(principal: Principal) -> Principal:
    if principal.role not in DEALER_ROLES:
        raise HTTPException(status_code=404, detail="Not found")
    return principal


def _back(url: str, *, flash: str | None = None, error: str | None = None) -> Response:
    key, message = ("error", error) if error else ("flash", flash or "")
    return redirect(f"{url}?{key}={quote_plus(message)}")


def _act(session, url: str, action, done) -> Response:
    """A refused action leaves nothing half done (a savepoint) and says why on the page."""
    try:
        with session.begin_nested():
            result = action()
    except (Invalid, Conflict) as problem:
        return _back(url, error=problem.message)
    return _back(url, flash=done(result) if callable(done) else done)


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
    view = brief_for(session, principal, appointment_id)
    return render(request, "workshop/brief.html", view=view, error=error, severity_class=SEVERITY_CLASS)


@router.post("/workspace/service/appointments/{appointment_id}/loaner")
def offer_loaner(appointment_id: Id, principal: StaffPage, session: DbSession):
    _dealer_only(principal)
    url = f"/workspace/service/appointments/{appointment_id}"

    def lend():
        _, prefs = owner_card(session, principal, appointment_id)
        return loaners.offer_loaner(session=session, principal=principal, appointment_id=appointment_id,
                                    preferences=prefs)
    return _act(session, url, lend, lambda offered: f"Courtesy car: {offered['car']} ({offered['vin']}).")


@router.post("/workspace/service/appointments/{appointment_id}/check-in")
def check_in(appointment_id: Id, principal: StaffPage, session: DbSession):
    _dealer_only(principal)
    url = f"/workspace/service/appointments/{appointment_id}"
    return _act(session, url, lambda: calendar.check_in(session=session, principal=principal,
                                                        appointment_id=appointment_id), "Checked in.")


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
                f"{vin} is now a courtesy car.")


@router.post("/workspace/service/loaners/{loaner_id}/active")
def loaner_active(loaner_id: Id, principal: StaffPage, session: DbSession, form: Form):
    _dealer_only(principal)
    active = text(form, "active") == "yes"
    return _act(session, "/workspace/service/loaners",
                lambda: loaners.set_active(session=session, principal=principal, loaner_id=loaner_id, active=active),
                "Back in the courtesy fleet." if active else "Taken out of the courtesy fleet.")
