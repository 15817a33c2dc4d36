"""Pages of car sharing, phone first: the map of hubs with free cars, the driver's bookings and the
car's buttons (code, open, close, pick up, return, bill), the hub desk and the carmaker's figures.

Action forms answer with a redirect back to the page they came from, carrying what happened in words
(post, redirect, get), so a reload never books or opens twice; a refused action changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import StreamingResponse

from forecourt.core import i18n, zones
from forecourt.core.clock import now
from forecourt.core.db import transaction
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.sales import trials as sales_trials
from forecourt.sharing import (access, billing, desk, figures, labels, offers, photos, positions, profiles,
                               reservations, trips)
from forecourt.web import car_stream
from forecourt.web.deps import (AdminPage, DbSession, DealerPage, MaybePrincipal, MePage, PagePrincipal,
                                PaymentGateway, Photos)
from forecourt.web.views.forms import Form, back_to, text, whole_number
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])
Number = Annotated[str, Path(min_length=1, max_length=20)]
HOME = "/me/sharing"
# Where the map opens when the visitor gives no place: the middle of the demo network's first market.
DEFAULT_PLACE = (52.52, 13.40)
LABELS = dict(status_names=labels.STATUS, propulsion_names=labels.PROPULSION, needs_names=labels.NEEDS,
              line_names=labels.BILL_LINES, why_names=labels.WHY_SHOWN, failure_names=labels.COMMAND_FAILURES,
              damage_names=labels.DAMAGE_STATUS, stage_names=labels.PHOTO_STAGES)



def _number(raw: str | None, low: float, high: float, default: float) -> float:
    try:
        value = float(raw) if raw not in (None, "") else default
    except ValueError:
        return default
    return value if low <= value <= high else default


@router.get("/sharing")
def find(request: Request, session: DbSession, principal: MaybePrincipal, lat: str | None = None,
         lon: str | None = None, at: str | None = None, hours: str | None = None, model_id: str | None = None,
         kind: str | None = None, error: str | None = None):
    """Hubs on a map with the cars free now or at a chosen time; a model page's "try this for a day" opens
    it with the model chosen and a day-long test drive."""
    latitude, longitude = _number(lat, -90, 90, DEFAULT_PLACE[0]), _number(lon, -180, 180, DEFAULT_PLACE[1])
    trial = kind == "test_drive"
    length = 24.0 if trial else _number(hours, 0.25, 72, 1.0)
    starts_at = None
    if at:
        try:
            starts_at = datetime.fromisoformat(at)
            if starts_at.tzinfo is None:  # a time typed on the page is the viewer's wall clock
                starts_at = starts_at.replace(tzinfo=zones.current_zone())
        except ValueError:
            starts_at, error = None, _("Give the time as shown in the form.")
    if starts_at is not None and (starts_at.tzinfo is None or starts_at < now() - timedelta(minutes=1)):
        starts_at = None
    chosen_model = whole_number(model_id)
    hubs_found = offers.nearby(session=session, latitude=latitude, longitude=longitude, radius_km=50,
                               starts_at=starts_at, hours=length, model_id=chosen_model)
    ready = None
    if principal is not None and principal.is_customer:
        ready = profiles.missing_steps(profiles.profile_of(session=session, customer_id=principal.customer_id),
                                       on=now().date())
    return render(request, "sharing/find.html", **LABELS, hubs=hubs_found, models=offers.models_offered(session=session),
                  model_id=chosen_model, trial=trial, hours=length, at=at or "", lat=latitude, lon=longitude,
                  starts_at=starts_at, missing=ready, error=error)


@router.get("/me/sharing")
def my_sharing(request: Request, me: MePage, session: DbSession, error: str | None = None):
    view = offers.driver_view(session=session, customer_id=me.customer_id)
    return render(request, "sharing/mine.html", **LABELS, view=view, error=error)


@router.post("/me/sharing/terms")
def accept_terms(me: MePage, session: DbSession, form: Form):
    profiles.accept_terms(session=session, customer_id=me.customer_id)
    return back_to(HOME, flash=_("Thank you: you accepted the car-sharing terms."))


@router.post("/me/sharing/position")
def position_sharing(me: MePage, session: DbSession, form: Form):
    allowed = text(form, "allow") == "yes"
    positions.set_standing(session=session, customer_id=me.customer_id, allowed=allowed)
    return back_to(HOME, flash=_("Hub staff may now see where your booked car is.") if allowed
                 else _("The hub's staff see where the car is only if it is late, stolen or in a crash."))


@router.post("/me/sharing/reserve")
def reserve(me: MePage, session: DbSession, form: Form, gateway: PaymentGateway):
    car_id = whole_number(text(form, "car_id"))
    kind = text(form, "kind") or "minute"
    try:
        starts_raw = text(form, "starts_at")
        starts_at = datetime.fromisoformat(starts_raw) if starts_raw else None
        if starts_at is not None and starts_at.tzinfo is None:  # the viewer's wall clock
            starts_at = starts_at.replace(tzinfo=zones.current_zone())
        hours = _number(text(form, "hours"), 0.25, 72, 1.0)
        if car_id is None:
            raise Invalid(_("Choose a car."), field="car_id")
        with session.begin_nested():
            found = reservations.reserve(session=session, gateway=gateway, customer_id=me.customer_id,
                                         car_id=car_id, starts_at=starts_at, hours=hours,
                                         kind=kind if kind in ("minute", "test_drive") else "minute",
                                         share_summary=text(form, "share_summary") == "yes",
                                         quoted_deposit=text(form, "quoted_deposit"))
    except ValueError:
        return back_to(HOME, error=_("Give the time as shown in the form."))
    except (Invalid, Conflict, NotFound) as problem:
        return back_to(HOME, error=problem.message)
    return back_to(f"{HOME}/{found.number}", flash=_("The car is held for you, free of charge, until %(time)s.",
                                                    time=f"{zones.to_viewer(found.hold_until):%H:%M}"))


def _mine(session, me, number: str):
    return reservations.get_own(session=session, customer_id=me.customer_id, number=number)


@router.get("/me/sharing/{number}")
def reservation_page(request: Request, number: Number, me: MePage, session: DbSession, error: str | None = None,
                     code: str | None = None):
    found = _mine(session, me, number)
    view = offers.reservation_view(session=session, reservation=found)
    taken = [{"id": p.id, "stage": photos.stage_of(session=session, photo=p)}
             for p in photos.of_reservation(session=session, reservation_id=found.id)]
    return render(request, "sharing/reservation.html", **LABELS, view=view, error=error, photos=taken,
                  position_allowed=positions.allows(session=session, reservation=found),
                  stolen=found.stolen_at is not None, max_photos=photos.MAX_PHOTOS,
                  code=code if code and code.isdigit() and len(code) == 6 else None)


def _act(session, me, number: str, action, done: str):
    """One action on the driver's own booking, in a savepoint: refused, it leaves nothing half done."""
    found = _mine(session, me, number)
    url = f"{HOME}/{found.number}"
    try:
        with session.begin_nested():
            action(found)
    except (Invalid, Conflict) as problem:
        return back_to(url, error=problem.message)
    return back_to(url, flash=done)


@router.post("/me/sharing/{number}/confirm")
def confirm(number: Number, me: MePage, session: DbSession, form: Form):
    return _act(session, me, number, lambda r: reservations.confirm(session=session, reservation=r),
                _("Booked. Ask for your code when you are at the car."))


@router.post("/me/sharing/{number}/cancel")
def cancel(number: Number, me: MePage, session: DbSession, form: Form):
    return _act(session, me, number, lambda r: reservations.cancel(session=session, reservation=r),
                _("Cancelled; the car is free for others."))


@router.post("/me/sharing/{number}/extend")
def extend(number: Number, me: MePage, session: DbSession, form: Form):
    minutes = whole_number(text(form, "minutes")) or 0
    return _act(session, me, number, lambda r: reservations.extend(session=session, reservation=r, minutes=minutes),
                _("Extended."))


@router.post("/me/sharing/{number}/code")
def code(number: Number, me: MePage, session: DbSession, form: Form):
    found = _mine(session, me, number)
    try:
        with session.begin_nested():
            issued = access.issue_code(session=session, reservation=found)
    except (Invalid, Conflict) as problem:
        return back_to(f"{HOME}/{found.number}", error=problem.message)
    return redirect(f"{HOME}/{found.number}?code={issued}")


@router.post("/me/sharing/{number}/unlock")
def unlock(number: Number, me: MePage, session: DbSession, form: Form):
    def open_car(found):
        if found.status == "active":
            access.unlock_again(session=session, reservation=found)
        else:
            access.unlock_with_code(session=session, reservation=found, vin=text(form, "vin") or "",
                                    code=text(form, "code") or "")

    return _act(session, me, number, open_car,
                _("The car was asked to unlock; if it does not answer within 30 seconds you and the hub are told."))


@router.post("/me/sharing/{number}/lock")
def lock(number: Number, me: MePage, session: DbSession, form: Form):
    return _act(session, me, number, lambda r: access.lock(session=session, reservation=r),
                _("The car was asked to lock."))


def uploads(form) -> list[bytes]:
    """The files of the form's ``photos`` field (a phone sends one part per picture taken)."""
    return [part.file.read() for part in form.getlist("photos") if hasattr(part, "file")]


@router.post("/me/sharing/{number}/check-out")
def check_out(number: Number, me: MePage, session: DbSession, form: Form, store: Photos):
    return _act(session, me, number,
                lambda r: trips.check_out(session=session, reservation=r, damage=text(form, "damage") or "",
                                          photos_taken=uploads(form), store=store),
                _("Have a good trip."))


@router.post("/me/sharing/{number}/return")
def return_car(number: Number, me: MePage, session: DbSession, form: Form, store: Photos):
    def give_back(found):
        trips.return_car(session=session, reservation=found, damage=text(form, "damage") or "",
                         photos_taken=uploads(form), store=store)
        billing.bill(session=session, reservation=found)

    return _act(session, me, number, give_back, _("Thank you: the car is returned and your bill is below."))


@router.post("/me/sharing/{number}/photos")
def add_photos(number: Number, me: MePage, session: DbSession, form: Form, store: Photos):
    return _act(session, me, number,
                lambda r: photos.add_to_trip(session=session, store=store, reservation=r, uploads=uploads(form)),
                _("Photos added."))


@router.post("/me/sharing/{number}/position")
def booking_position(number: Number, me: MePage, session: DbSession, form: Form):
    allowed = text(form, "allow") == "yes"
    return _act(session, me, number,
                lambda r: positions.set_allowed(session=session, reservation=r, allowed=allowed),
                _("The hub's staff may now see where the car is.") if allowed
                else _("The hub's staff see where the car is only if it is late, stolen or in a crash."))


@router.post("/me/sharing/{number}/stolen")
def report_stolen(number: Number, me: MePage, session: DbSession, form: Form):
    return _act(session, me, number,
                lambda r: positions.report_stolen(session=session, principal=me, reservation=r),
                _("The car is reported stolen; the hub now sees where it is. Call the police as well."))


@router.get("/sharing/photos/{photo_id}")
def photo(photo_id: Id, principal: PagePrincipal, session: DbSession, store: Photos, size: str | None = None):
    """A photo of a shared car, for its driver, the hub's service staff and the carmaker's admins."""
    found = photos.readable(session=session, principal=principal, photo_id=photo_id)
    data, media_type = photos.content(store=store, photo=found, thumbnail=size == "thumb")
    return Response(content=data, media_type=media_type,
                    headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


# --- the hub desk ---------------------------------------------------------------------------------------

DESK = "/workspace/hub"


@router.get("/workspace/hub")
def hub_desk(request: Request, principal: DealerPage, session: DbSession, error: str | None = None):
    board = desk.board(session=session, principal=principal)
    return render(request, "sharing/hub.html", **LABELS, board=board, error=error)


@router.get("/workspace/hub/stream", response_class=StreamingResponse, responses=car_stream.STREAM_DOC)
def hub_stream(request: Request, principal: DealerPage, session: DbSession, seconds: float = car_stream.LIFETIME):
    """The fleet map's cars as they move, each under the board's rule (a booked car only while late or
    with its renter's permission), read again at every push."""
    hub_id, vehicles = desk.fleet_cars(session=session, principal=principal)
    sessions, locale = request.app.state.sessionmaker, i18n.current_locale()

    def read(changed: set[int]) -> dict:
        with i18n.use_locale(locale), transaction(sessions) as fresh:
            try:
                return desk.live_positions(session=fresh, principal=principal, hub_id=hub_id, vehicle_ids=changed)
            except NotFound:
                raise car_stream.Gone from None

    return car_stream.for_request(request, cars=vehicles, read=read, event="positions", seconds=seconds)


def _desk_act(session, action, done: str):
    try:
        with session.begin_nested():
            action()
    except (Invalid, Conflict) as problem:
        return back_to(DESK, error=problem.message)
    return back_to(DESK, flash=done)


@router.post("/workspace/hub/reservations/{number}/licence")
def check_licence(number: Number, principal: DealerPage, session: DbSession, form: Form):
    desk.reservation_at(session=session, principal=principal, number=number)  # not theirs: 404
    try:
        expires_on = datetime.fromisoformat(text(form, "expires_on") or "").date()
    except ValueError:
        return back_to(DESK, error=_("Give the licence's expiry date."))
    return _desk_act(session, lambda: desk.check_licence(
        session=session, principal=principal, number=number, licence_number=text(form, "licence_number") or "",
        expires_on=expires_on, note=text(form, "note") or ""), _("Licence checked."))


@router.post("/workspace/hub/reservations/{number}/close")
def close_trip(number: Number, principal: DealerPage, session: DbSession, form: Form, gateway: PaymentGateway):
    desk.reservation_at(session=session, principal=principal, number=number)
    return _desk_act(session, lambda: desk.close(session=session, gateway=gateway, principal=principal,
                                                 number=number), _("Trip closed; the deposit is settled."))


@router.post("/workspace/hub/cars/{car_id}/service")
def car_service(car_id: Id, principal: DealerPage, session: DbSession, form: Form):
    out = text(form, "out_of_service") == "yes"
    desk.car_at(session=session, principal=principal, car_id=car_id)
    return _desk_act(session, lambda: desk.set_out_of_service(session=session, principal=principal, car_id=car_id,
                                                              out=out, note=text(form, "note") or ""),
                     _("Taken out of service.") if out else _("Back in service."))


@router.post("/workspace/hub/cars/{car_id}/ready")
def car_ready(car_id: Id, principal: DealerPage, session: DbSession, form: Form):
    desk.car_at(session=session, principal=principal, car_id=car_id)
    return _desk_act(session, lambda: desk.mark_ready(session=session, principal=principal, car_id=car_id),
                     _("Ready for the next driver."))


@router.post("/workspace/hub/damage/{damage_id}/status")
def damage_status(damage_id: Id, principal: DealerPage, session: DbSession, form: Form):
    chosen = text(form, "status") or ""
    return _desk_act(session, lambda: desk.set_damage_status(session=session, principal=principal, damage_id=damage_id,
                                                             status=chosen),
                     _("Damage report updated."))


@router.post("/workspace/hub/stolen")
def desk_stolen(principal: DealerPage, session: DbSession, form: Form):
    """A car on a trip reported stolen by the booking's number, or the report cleared when it is found."""
    desk.hub_of(session=session, principal=principal)  # no hub of theirs: 404
    number = (text(form, "number") or "").strip().upper()
    try:
        desk.reservation_at(session=session, principal=principal, number=number)
    except NotFound:
        return back_to(DESK, error=_("No booking at this hub has that number."))
    reported = text(form, "stolen") != "no"
    return _desk_act(session, lambda: desk.stolen(session=session, principal=principal, number=number,
                                                  reported=reported),
                     _("Reported stolen: the car's position is shown on the map.") if reported
                     else _("The theft report is cleared."))


# --- the carmaker ---------------------------------------------------------------------------------------

@router.get("/admin/sharing")
def sharing_figures(request: Request, principal: AdminPage, session: DbSession, days: str | None = None):
    period = int(_number(days, 1, 365, 30))
    found = figures.network(session=session, days=period)
    funnel = sales_trials.conversion(session=session, customer_ids=found["trial_customers"], since=found["since"])
    return render(request, "sharing/figures.html", **LABELS, figures=found, funnel=funnel, days=period)
