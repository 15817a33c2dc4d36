"""Pages: the owner's service — proposals to book in one click, coming bookings, when they can come.

Action forms answer with a redirect back to /me/service (post, redirect, get), carrying ``?flash=``
or ``?error=`` in words, so a reload never books twice. A form the owner filled in wrongly comes
back as the page itself with a 422 and the words next to the field.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote_plus, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from forecourt.core.errors import Conflict, Invalid
from forecourt.core import dates
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service
from forecourt.web.deps import DbSession, MePage
from forecourt.web.views.forms import Form, back_to, text, whole_number
from forecourt.web.views.render import redirect, render
from forecourt.workshop import autobook, booking, proposals, symptoms
from forecourt.workshop.jobs import choices as job_choices

router = APIRouter(tags=["pages"])
HOME = "/me/service"


def _back(url: str = HOME, *, flash: str | None = None, error: str | None = None) -> Response:
    return back_to(url, flash=flash, error=error)


def _windows_by_day(rows) -> list[dict]:
    by_day = {row.weekday: row for row in rows}
    return [{"weekday": day, "name": dates.weekday_name(day), "from_time": by_day[day].from_time if day in by_day else "",
             "to_time": by_day[day].to_time if day in by_day else ""} for day in range(7)]


def _service_page(request: Request, session, me, *, windows: list[dict] | None = None, errors: dict | None = None,
                  status_code: int = 200, error: str | None = None) -> Response:
    overview = proposals.overview(session=session, customer_id=me.customer_id)
    cars = [vehicle for vehicle, _ in vehicles_service.vehicles_of(session=session, customer_id=me.customer_id)]
    workshops = {dealer_id for car in cars for dealer_id in (car.service_dealer_id or car.selling_dealer_id,)
                 if dealer_id} | set(overview["automatic_dealers"])
    dealers = [parties_service.get_organization(session=session, organization_id=dealer_id)
               for dealer_id in sorted(workshops)]
    return render(request, "bookings/service.html", status_code=status_code, proposals=overview["proposals"],
                  appointments=overview["appointments"], cars=cars, error=error, errors=errors or {},
                  windows=windows or _windows_by_day(overview["availability"]), symptom_choices=symptoms.choices(),
                  automatic=[dict(id=d.id, name=d.name, granted=d.id in overview["automatic_dealers"])
                             for d in dealers])


def _symptoms(form) -> dict:
    """The symptoms the driver ticked and described, as the booking services take them."""
    return dict(symptom_codes=[str(code) for code in form.getlist("symptoms")],
                symptom_notes=str(form.get("symptom_notes") or ""))


@router.get("/me/service")
def my_service(request: Request, me: MePage, session: DbSession, error: str | None = None):
    return _service_page(request, session, me, error=error)


@router.post("/me/service/proposals/{number}/accept")
def accept_proposal(number: Id, me: MePage, session: DbSession, form: Form):
    slot_index = whole_number(text(form, "slot_index"))
    if slot_index is None:
        return _back(error=_("Choose one of the offered times."))
    try:
        appointment = proposals.accept(session=session, customer_id=me.customer_id, proposal_id=number,
                                       slot_index=slot_index, **_symptoms(form))
    except (Invalid, Conflict) as problem:  # a time just taken: the proposal now shows fresh ones
        return _back(error=problem.message)
    view = booking.describe(session=session, appointment=appointment)
    return _back(flash=_("Booked: %(label)s at %(name)s. The time is held for you.", label=view['label'], name=view['dealer']['name']))


@router.post("/me/service/proposals/{number}/decline")
def decline_proposal(number: Id, me: MePage, session: DbSession):
    try:
        proposals.decline(session=session, customer_id=me.customer_id, proposal_id=number)
    except Conflict as problem:
        return _back(error=problem.message)
    return _back(flash=_("Proposal declined. You can still book a time yourself."))


@router.post("/me/service/availability")
def set_availability(request: Request, me: MePage, session: DbSession, form: Form):
    windows, errors, chosen = [], {}, []
    for day in range(7):
        opens, closes = text(form, f"from_{day}"), text(form, f"to_{day}")
        chosen.append({"weekday": day, "name": dates.weekday_name(day), "from_time": opens or "", "to_time": closes or ""})
        if not opens and not closes:
            continue
        if not opens or not closes:
            errors[str(day)] = _("Give both times for %(weekday)s, or leave both empty.",
                                 weekday=dates.weekday_name(day))
            continue
        windows.append((day, opens[:5], closes[:5]))
    if not errors:
        try:
            with session.begin_nested():
                proposals.set_availability(session=session, customer_id=me.customer_id, windows=windows)
        except Invalid as problem:
            day = next((str(d) for d, o, c in windows if o >= c), "form")
            errors[day] = problem.message
    if errors:
        return _service_page(request, session, me, windows=chosen, errors=errors, status_code=422)
    return _back(flash=_("Thank you: we will only propose times when you can come.") if windows else
                 _("Saved: we will propose any time the workshop is open."))


@router.post("/me/service/bookings/{number}/cancel")
def cancel_booking(number: Id, me: MePage, session: DbSession):
    appointment = booking.get_for_customer(session=session, customer_id=me.customer_id,
                                           appointment_id=number)
    try:
        booking.cancel(session=session, appointment=appointment, by="owner")
    except Conflict as problem:
        return _back(error=problem.message)
    return _back(flash=_("Booking cancelled; the time is free again."))


@router.post("/me/service/bookings/{number}/move")
def move_booking(number: Id, me: MePage, session: DbSession, form: Form):
    """One click: the booking moves to the time on the button; the old one is kept if that was just taken."""
    appointment = booking.get_for_customer(session=session, customer_id=me.customer_id, appointment_id=number)
    bay, _bar, start = (text(form, "slot") or "").partition("|")
    try:
        starts_at = datetime.fromisoformat(start)
    except ValueError:
        return _back(error=_("Choose one of the free times."))
    if whole_number(bay) is None:
        return _back(error=_("Choose one of the free times."))
    try:
        with session.begin_nested():
            booking.reschedule(session=session, appointment=appointment, bay=whole_number(bay), starts_at=starts_at)
    except (Invalid, Conflict) as problem:
        return _back(error=problem.message)
    view = booking.describe(session=session, appointment=appointment)
    return _back(flash=_("Moved: %(label)s at %(name)s. The time is held for you.", label=view["label"],
                         name=view["dealer"]["name"]))


@router.post("/me/service/automatic-booking")
def automatic_booking(me: MePage, session: DbSession, form: Form):
    """The standing permission for one workshop, given or withdrawn (in the consent ledger either way)."""
    dealer_id = whole_number(text(form, "dealer_id"))
    if dealer_id is None:
        return _back(error=_("Choose a dealer from the list."))
    try:
        with session.begin_nested():
            if text(form, "allow") == "yes":
                autobook.give(session=session, customer_id=me.customer_id, dealer_id=dealer_id)
            else:
                autobook.withdraw(session=session, customer_id=me.customer_id, dealer_id=dealer_id)
    except Invalid as problem:
        return _back(error=problem.message)
    if text(form, "allow") == "yes":
        return _back(flash=_("Thank you: this workshop now books your car's service by itself within your times "
                             "and tells you after."))
    return _back(flash=_("Withdrawn: we will propose times again and wait for your click."))


def _book_page(request: Request, session, me, *, vin: str | None, job: str, dealer_id: Id | None,
               error: str | None = None, status_code: int = 200) -> Response:
    cars = [vehicle for vehicle, _ in vehicles_service.vehicles_of(session=session, customer_id=me.customer_id)]
    offer = None
    if vin:
        near = customers_service.home_position(session=session, customer_id=me.customer_id)
        offer = proposals.offer(session=session, customer_id=me.customer_id, vin=vin, job=job, dealer_id=dealer_id,
                                customer_position=near)
    dealers = [d for d in parties_service.list_organizations(session=session, kind="dealer") if d.service_bays]
    return render(request, "bookings/book.html", status_code=status_code, cars=cars, vin=vin, job=job,
                  dealer_id=dealer_id, dealers=dealers, jobs=job_choices(), offer=offer, error=error,
                  symptom_choices=symptoms.choices())


@router.get("/me/service/book")
def book_page(request: Request, me: MePage, session: DbSession, vin: str | None = None, job: str = "inspection",
              dealer_id: str | None = None, error: str | None = None):
    chosen = whole_number(dealer_id)
    try:
        return _book_page(request, session, me, vin=vin, job=job, dealer_id=chosen, error=error)
    except Invalid as problem:
        return _book_page(request, session, me, vin=vin, job="inspection", dealer_id=None, error=problem.message,
                          status_code=422)


@router.post("/me/service/book/{vin}")
def book_my_car(vin: str, me: MePage, session: DbSession, form: Form):
    job, raw_dealer, raw_slot = text(form, "job") or "", text(form, "dealer_id") or "", text(form, "slot") or ""
    back = f"/me/service/book?{urlencode({'vin': vin, 'job': job, 'dealer_id': raw_dealer})}"
    bay, _bar, start = raw_slot.partition("|")
    try:
        starts_at = datetime.fromisoformat(start)
    except ValueError:
        return _back(back, error=_("Choose one of the free times."))
    bay_number, dealer_id = whole_number(bay), whole_number(raw_dealer)
    if bay_number is None or dealer_id is None:
        return _back(back, error=_("Choose one of the free times."))
    try:
        appointment = proposals.book_for_owner(session=session, customer_id=me.customer_id, vin=vin, job=job,
                                               dealer_id=dealer_id, bay=bay_number, starts_at=starts_at,
                                               **_symptoms(form))
    except (Invalid, Conflict) as problem:
        return _back(back, error=problem.message)
    view = booking.describe(session=session, appointment=appointment)
    return _back(flash=_("Booked: %(label)s at %(name)s. The time is held for you.", label=view['label'], name=view['dealer']['name']))
