"""Access-control classes of the service advisor routes (see tests/api/test_access_control.py).

All are DEALER: dealer staff of their own dealer only, everyone else (partners, the carmaker, customers)
gets the same 404. The calendar is the dealer's book of bays and names nobody. The brief and the loaner
open the owner's data section by section through the consent door, so a brief without any grant
still answers (the car and the booked job) — which sections open with which grant, that another
dealer's advisor gets 404 and that nothing is logged then, is checked in tests/workshop/test_brief.py
and test_loaners.py, since the generic CUSTOMER_DATA checks expect a 404 without a grant.
"""

from __future__ import annotations

from datetime import timedelta

from forecourt.core.clock import now
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop.models import Appointment, Loaner, LoanerBooking, LoanerHandover
from tests.api.acl_rules import DEALER, SERVICE, Rule


def _appointment(w) -> dict:
    """Customer A's car booked into the dealer's bay 1 tomorrow (one per test), with a loaner free for it."""
    if not hasattr(w, "_advisor_appointment"):
        start = now().replace(microsecond=0) + timedelta(days=1)
        appointment = Appointment(dealer_id=w.dealer.id, vehicle_id=w.vehicle.id, customer_id=w.customer.id, bay=1,
                                  starts_at=start, ends_at=start + timedelta(hours=1), job="diagnosis",
                                  reason="Engine warning", source="owner", status="confirmed", dtc_codes=["P0301"])
        w.session.add(appointment)
        w.session.flush()
        _loaner(w)
        w.session.commit()
        w._advisor_appointment = appointment
    return {"appointment_id": w._advisor_appointment.id}


def _stock_vin(w) -> str:
    car = vehicles_service.register(session=w.session, vin=w.make.vin(), trim_id=w.make.trim().id, model_year=2025,
                                    selling_dealer_id=w.dealer.id)
    w.session.commit()
    return car.vin


def _loaner(w) -> dict:
    if not hasattr(w, "_advisor_loaner"):
        car = vehicles_service.get_by_vin(session=w.session, vin=_stock_vin(w))
        loaner = Loaner(dealer_id=w.dealer.id, vehicle_id=car.id, is_active=True)
        w.session.add(loaner)
        w.session.commit()
        w._advisor_loaner = loaner
    return {"loaner_id": w._advisor_loaner.id}


def _loaner_booking(w) -> dict:
    """The loaner lent for the appointment (one per test)."""
    if not hasattr(w, "_advisor_loaner_booking"):
        appointment = w.session.get(Appointment, _appointment(w)["appointment_id"])
        lent = LoanerBooking(loaner_id=_loaner(w)["loaner_id"], appointment_id=appointment.id,
                             customer_id=appointment.customer_id, starts_at=appointment.starts_at,
                             ends_at=appointment.ends_at, preset={}, reason="The first free courtesy car")
        w.session.add(lent)
        w.session.commit()
        w._advisor_loaner_booking = lent
    return {"booking_id": w._advisor_loaner_booking.id}


def _loaner_out(w) -> dict:
    """The loaner handed over, so its return can be recorded."""
    values = _loaner_booking(w)
    lent = w._advisor_loaner_booking
    if lent.handed_over_at is None:
        lent.handed_over_at = now()
        w.session.add(LoanerHandover(loaner_id=lent.loaner_id, booking_id=lent.id, kind="handover", odometer_km=100,
                                     energy_percent=90, damage_notes="", photos=[], recorded_at=now()))
        w.session.commit()
    return values


CONDITION = {"odometer_km": 150, "energy_percent": 70, "damage_notes": "", "photos": []}


def _condition_form(w) -> dict:
    return {"odometer_km": "150", "energy_percent": "70"}


ROUTES: dict = {
    ("GET", "/api/advisor/calendar"): Rule(DEALER),
    ("GET", "/api/advisor/appointments/{appointment_id}/brief"): Rule(DEALER, params=_appointment),
    ("POST", "/api/advisor/appointments/{appointment_id}/loaner"): Rule(DEALER, params=_appointment, ok=(201,)),
    ("POST", "/api/advisor/appointments/{appointment_id}/check-in"): Rule(DEALER, params=_appointment),
    ("GET", "/api/advisor/loaners"): Rule(DEALER),
    ("POST", "/api/advisor/loaners"): Rule(DEALER, json=lambda w: {"vin": _stock_vin(w)}, ok=(201,)),
    ("PATCH", "/api/advisor/loaners/{loaner_id}"): Rule(DEALER, params=_loaner, json=lambda w: {"is_active": False}),
    ("POST", "/api/advisor/appointments/{appointment_id}/findings"): Rule(
        DEALER, params=_appointment, json=lambda w: {"findings": "Front pads worn to 2 mm"}),
    ("POST", "/api/advisor/loaner-bookings/{booking_id}/handover"): Rule(
        SERVICE, params=_loaner_booking, json=lambda w: CONDITION, ok=(201,)),
    ("POST", "/api/advisor/loaner-bookings/{booking_id}/return"): Rule(
        SERVICE, params=_loaner_out, json=lambda w: CONDITION, ok=(201,)),
    ("GET", "/api/advisor/loaners/{loaner_id}/history"): Rule(SERVICE, params=_loaner),
    # the pages
    ("POST", "/workspace/service/appointments/{appointment_id}/findings"): Rule(
        DEALER, params=_appointment, form=lambda w: {"findings": "Front pads worn to 2 mm"}, ok=(303,)),
    ("POST", "/workspace/service/loaner-bookings/{booking_id}/handover"): Rule(
        SERVICE, params=_loaner_booking, form=_condition_form, ok=(303,)),
    ("POST", "/workspace/service/loaner-bookings/{booking_id}/return"): Rule(
        SERVICE, params=_loaner_out, form=_condition_form, ok=(303,)),
    ("GET", "/workspace/service/loaners/{loaner_id}"): Rule(SERVICE, params=_loaner),
    ("GET", "/workspace/service/calendar"): Rule(DEALER),
    ("GET", "/workspace/service/appointments/{appointment_id}"): Rule(DEALER, params=_appointment),
    ("POST", "/workspace/service/appointments/{appointment_id}/loaner"): Rule(DEALER, params=_appointment, ok=(303,)),
    ("POST", "/workspace/service/appointments/{appointment_id}/check-in"): Rule(DEALER, params=_appointment,
                                                                                ok=(303,)),
    ("GET", "/workspace/service/loaners"): Rule(DEALER),
    ("POST", "/workspace/service/loaners"): Rule(DEALER, form=lambda w: {"vin": _stock_vin(w)}, ok=(303,)),
    ("POST", "/workspace/service/loaners/{loaner_id}/active"): Rule(DEALER, params=_loaner,
                                                                    form=lambda w: {"active": "no"}, ok=(303,)),
}
