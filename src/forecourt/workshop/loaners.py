"""Courtesy cars: the dealer's loaner fleet, and choosing one for an appointment with its personal preset.

A loaner is a sales opportunity as much as a courtesy: the best car to lend is a model the owner
configured or test-drove but did not buy. That is the owner's sales history, which a workshop may read
only when the owner allows this dealer sales contact (the purpose that covers it); each such read is in
the owner's access log. Without it, a car with the same propulsion as the owner's (an EV driver gets an
EV), then any free one. The choice always comes with its reason in words.

The preset (radio presets, navigation favourites, seat position) is made from the owner's preferences,
which the caller (the web layer) reads after the consent check; workshop cannot import customers.
They are used only if the owner allows this dealer service reminders (which cover preferences).

A loaner is lent to one appointment at a time: a booking overlapping another of the same car is
refused. The chosen loaner's row is locked (``FOR UPDATE`` on PostgreSQL; SQLite has one writer at a
time) and the overlap checked again, so two advisors cannot lend the same car for the same hours.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import dates
from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.sales import records as sales_records
from forecourt.sharing import hubs as sharing_fleet
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop import calendar
from forecourt.workshop.models import Appointment, Loaner, LoanerBooking

SALES_PURPOSE, SERVICE_PURPOSE = "sales_contact", "service_reminders"
# Why a car was chosen, best first.
INTEREST, SAME_PROPULSION, ANY = "interest", "propulsion", "any"


def _dealer(principal: Principal) -> int:
    if principal.organization_id is None:
        raise NotFound("Loaner not found")
    return principal.organization_id


# --- the fleet ---------------------------------------------------------------------------------------

def vehicle_row(session: Session, vehicle_id: int) -> dict:
    vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
    return dict(vin=vehicle.vin, car=f"{vehicle.model_name} {vehicle.trim_name}", model=vehicle.model_name,
                model_id=vehicle.trim.model_id, propulsion=vehicle.propulsion, colour=vehicle.colour,
                registration=vehicle.registration, title=vehicle.title)


def fleet(*, session: Session, principal: Principal, now: datetime) -> list[dict]:
    """The dealer's courtesy cars, each with whether it is out now and its next booking."""
    rows = []
    for loaner in session.scalars(select(Loaner).where(Loaner.dealer_id == _dealer(principal)).order_by(Loaner.id)):
        bookings = list(session.scalars(select(LoanerBooking).where(
            LoanerBooking.loaner_id == loaner.id, LoanerBooking.returned_at.is_(None),
            or_(LoanerBooking.ends_at > now, LoanerBooking.handed_over_at.is_not(None)))
            .order_by(LoanerBooking.starts_at)))
        out = next((b for b in bookings if b.handed_over_at is not None), None) or next(
            (b for b in bookings if as_utc(b.starts_at) <= now), None)
        upcoming = [b for b in bookings if b is not out]
        rows.append(dict(loaner=loaner, id=loaner.id, is_active=loaner.is_active,
                         out_until=calendar.local(out.ends_at) if out else None,
                         overdue=bool(out and out.handed_over_at is not None and as_utc(out.ends_at) < now),
                         next_booking=calendar.local(upcoming[0].starts_at) if upcoming else None,
                         next_appointment_id=upcoming[0].appointment_id if upcoming else None,
                         bookings=len(bookings), **vehicle_row(session, loaner.vehicle_id)))
    return rows


def stock_candidates(*, session: Session, principal: Principal) -> list[dict]:
    """The dealer's unsold cars that are not loaners yet: what can join the fleet."""
    shared = sharing_fleet.shared_vehicle_ids(session=session)  # a sharing hub's cars are lent by the minute
    cars = vehicles_service.unsold_stock(session=session, dealer_id=_dealer(principal),
                                         excluding=select(Loaner.vehicle_id).union(shared), limit=200,
                                         oldest_first=True)
    return [dict(vin=v.vin, title=v.title, propulsion=v.propulsion) for v in cars]


def add_to_fleet(*, session: Session, principal: Principal, vin: str) -> Loaner:
    """A car of the dealer's own stock (unsold) becomes a courtesy car."""
    dealer_id = _dealer(principal)
    try:
        vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    except NotFound:
        raise Invalid(_("No car with VIN %(vin)s is registered.", vin=f"{vin!r}"), field="vin") from None
    if vehicle.selling_dealer_id != dealer_id or vehicles_service.current_owner_id(
            session=session, vehicle_id=vehicle.id) is not None:
        raise Invalid(_("Only an unsold car of your own stock can be a courtesy car."), field="vin")
    if sharing_fleet.is_shared(session=session, vehicle_id=vehicle.id):
        raise Invalid(_("The %(title)s (%(vin)s) is in a car-sharing fleet and cannot be a courtesy car.",
                        title=vehicle.title, vin=vehicle.vin), field="vin")
    existing = session.scalars(select(Loaner).where(Loaner.vehicle_id == vehicle.id)).first()
    if existing is not None:
        if existing.is_active:
            raise Conflict(_("The %(title)s (%(vin)s) is already in the courtesy fleet.", title=vehicle.title, vin=vehicle.vin), field="vin")
        existing.is_active = True  # back in the fleet
        session.flush()
        return existing
    loaner = Loaner(dealer_id=dealer_id, vehicle_id=vehicle.id, is_active=True)
    session.add(loaner)
    session.flush()
    return loaner


def get_loaner(*, session: Session, principal: Principal, loaner_id: int) -> Loaner:
    loaner = session.get(Loaner, loaner_id)
    if loaner is None or loaner.dealer_id != _dealer(principal):
        raise NotFound("Loaner not found")
    return loaner


def set_active(*, session: Session, principal: Principal, loaner_id: int, active: bool) -> Loaner:
    """Take a car out of the fleet (sold, damaged) or put it back; bookings already made stay."""
    loaner = get_loaner(session=session, principal=principal, loaner_id=loaner_id)
    loaner.is_active = active
    session.flush()
    return loaner


# --- choosing one ------------------------------------------------------------------------------------

def _busy(start: datetime, end: datetime):
    """Bookings that keep a car from being lent for [start, end): overlapping ones not returned before the
    start, and any car handed over and not back yet, however late (a returned car is free at once)."""
    overlapping = and_(LoanerBooking.starts_at < end, LoanerBooking.ends_at > start,
                       or_(LoanerBooking.returned_at.is_(None), LoanerBooking.returned_at > start))
    still_out = and_(LoanerBooking.handed_over_at.is_not(None), LoanerBooking.returned_at.is_(None))
    return or_(overlapping, still_out)


def _overlapping(session: Session, loaner_id: int, start: datetime, end: datetime) -> bool:
    return session.scalars(select(LoanerBooking.id).where(
        LoanerBooking.loaner_id == loaner_id, _busy(start, end))).first() is not None


def free_loaners(*, session: Session, dealer_id: int, start: datetime, end: datetime) -> list[Loaner]:
    busy = select(LoanerBooking.loaner_id).where(_busy(start, end))
    # A car a sharing driver holds for any moment of the window is never lent (nor any car in a shared fleet).
    shared = sharing_fleet.busy_vehicle_ids(session=session, start=start, end=end).union(
        sharing_fleet.shared_vehicle_ids(session=session))
    return list(session.scalars(select(Loaner).where(Loaner.dealer_id == dealer_id, Loaner.is_active.is_(True),
                                                     Loaner.id.not_in(busy), Loaner.vehicle_id.not_in(shared))
                                .order_by(Loaner.id)))


def _day(moment: datetime) -> str:
    """A day on the workshop's clock, as the reader writes it ("5 Jun 2025", "2025. 6. 5.")."""
    return dates.format_date(calendar.local(moment).date())


def _tried(how: str, model: str, day: str) -> str:
    if how == "configured":
        return _("The owner configured a %(model)s on %(day)s but has not bought one: a day with it may help them "
                 "decide.", model=model, day=day)
    return _("The owner test-drove a %(model)s on %(day)s but has not bought one: a day with it may help them decide.",
             model=model, day=day)


def interests(*, session: Session, principal: Principal, appointment: Appointment) -> dict[int, str]:
    """Models the owner configured or test-drove (with this dealer) but never owned: model id -> why, newest
    first. Empty unless the owner allows this dealer sales contact; the read is logged."""
    customer_id = appointment.customer_id
    if customer_id is None:
        return {}
    try:
        consent_service.require(session=session, principal=principal, customer_id=customer_id, purpose=SALES_PURPOSE,
                                what=f"configurations and test drives, to choose a loaner (appointment {appointment.id})")
    except NotFound:
        return {}
    owned = {vehicle.trim.model_id for vehicle, _ in vehicles_service.vehicles_of(
        session=session, customer_id=customer_id, current_only=False)}
    names = {model.id: model.name for model in vehicles_service.list_models(session=session)}
    found = [(at, model_id, _tried(how, names.get(model_id) or _("car"), _day(at)))
             for at, model_id, how in sales_records.models_tried(session=session, customer_id=customer_id,
                                                                 dealer_id=appointment.dealer_id)]
    reasons: dict[int, str] = {}
    for _at, model_id, why in sorted(found, key=lambda item: item[0], reverse=True):
        if model_id not in owned:
            reasons.setdefault(model_id, why)
    return reasons


def choose(*, candidates: list[dict], interest: dict[int, str], propulsion: str | None) -> tuple[dict, str, str] | None:
    """The best of the free cars: a model of interest (newest interest first), then the same propulsion, then any.

    Returns (candidate, tier, reason) or None when no car is free."""
    ranked = list(interest)
    of_interest = [c for c in candidates if c["model_id"] in interest]
    if of_interest:
        best = min(of_interest, key=lambda c: (ranked.index(c["model_id"]), c["id"]))
        return best, INTEREST, interest[best["model_id"]]
    same = [c for c in candidates if propulsion and c["propulsion"] == propulsion]
    if same:
        return same[0], SAME_PROPULSION, (f"Same propulsion as the owner's car ({propulsion.replace('_', ' ')}), "
                                          "so nothing new to learn.")
    if candidates:
        return candidates[0], ANY, "The first free courtesy car; nothing closer to the owner's taste is free."
    return None


def preset_from(preferences: dict | None) -> dict:
    """What to set in the loaner before hand-over, and why."""
    preferences = preferences or {}
    preset = dict(radio_presets=list(preferences.get("radio_presets") or []),
                  navigation_favourites=list(preferences.get("navigation_favourites") or []),
                  seat_position=dict(preferences.get("seat_position") or {}))
    if any(preset.values()):
        preset["why"] = ("From the owner's saved preferences, so the courtesy car feels like their own: "
                         "set before hand-over.")
    else:
        preset["why"] = ("The owner has not shared preferences with this dealer; ask at the desk and set the "
                         "car up at hand-over.")
    return preset


def booking_of(*, session: Session, appointment_id: int) -> LoanerBooking | None:
    return session.scalars(select(LoanerBooking).where(LoanerBooking.appointment_id == appointment_id)).first()


def offer_loaner(*, session: Session, principal: Principal, appointment_id: int, preferences: dict | None) -> dict:
    """Lend the best free courtesy car for the appointment's hours, with its preset; stored as a booking."""
    appointment = calendar.get_for_dealer(session=session, principal=principal, appointment_id=appointment_id)
    if appointment.status in ("cancelled", "done"):
        raise Conflict(_("This appointment is %(value)s; no courtesy car is needed.", value=calendar.STATUS_LABELS[appointment.status].lower()))
    if booking_of(session=session, appointment_id=appointment.id) is not None:
        raise Conflict(_("This appointment already has a courtesy car."))
    start, end = appointment.starts_at, appointment.ends_at
    vehicle = vehicles_service.get(session=session, vehicle_id=appointment.vehicle_id)
    interest = interests(session=session, principal=principal, appointment=appointment)
    shares_preferences = appointment.customer_id is not None and consent_service.holds(
        session=session, principal=principal, customer_id=appointment.customer_id, purpose=SERVICE_PURPOSE)
    if shares_preferences:
        consent_service.require(session=session, principal=principal, customer_id=appointment.customer_id,
                                purpose=SERVICE_PURPOSE, what=f"preferences for the loaner preset "
                                                              f"(appointment {appointment.id})")
    candidates = [dict(id=loaner.id, loaner=loaner, **vehicle_row(session, loaner.vehicle_id))
                  for loaner in free_loaners(session=session, dealer_id=appointment.dealer_id, start=start, end=end)]
    while True:
        chosen = choose(candidates=candidates, interest=interest, propulsion=vehicle.propulsion)
        if chosen is None:
            raise Conflict(_("No courtesy car is free at that time; every loaner is already lent."))
        candidate, tier, reason = chosen
        # Lock the car, then look again: another advisor may have lent it a moment ago.
        session.scalars(select(Loaner).where(Loaner.id == candidate["id"]).with_for_update()).one()
        if not _overlapping(session, candidate["id"], start, end):
            break
        candidates.remove(candidate)
    preset = preset_from(preferences if shares_preferences else None)
    booking = LoanerBooking(loaner_id=candidate["id"], appointment_id=appointment.id,
                            customer_id=appointment.customer_id, starts_at=start, ends_at=end, preset=preset,
                            reason=reason)
    session.add(booking)
    session.flush()
    return describe(session=session, booking=booking) | dict(tier=tier)


def describe(*, session: Session, booking: LoanerBooking) -> dict:
    loaner = session.get(Loaner, booking.loaner_id)
    return dict(id=booking.id, appointment_id=booking.appointment_id, loaner_id=loaner.id,
                handed_over_at=booking.handed_over_at, returned_at=booking.returned_at,
                starts_local=calendar.local(booking.starts_at), ends_local=calendar.local(booking.ends_at),
                reason=booking.reason, preset=booking.preset or {}, **vehicle_row(session, loaner.vehicle_id))
