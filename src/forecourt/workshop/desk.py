"""The service advisor's desk: the pre-arrival brief with the owner's card and the courtesy car.

``brief`` decides what each section may show; this module gathers what it is handed (the owner's
contact card and preferences, read only when ``brief.sharing`` says service reminders are granted,
and opened through the consent door by ``brief`` itself) and the courtesy car booked for the visit,
so the JSON route and the page show the same brief.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.core.auth import Principal
from forecourt.core.clock import now
from forecourt.customers import service as customers_service
from forecourt.workshop import brief as brief_service
from forecourt.workshop import calendar, loaners


def owner_card(*, session: Session, principal: Principal, appointment_id: int) -> tuple[dict | None, dict | None]:
    """The owner's contact card and preferences, when service reminders are granted; else (None, None).

    Only read here: ``brief`` and ``loaners.offer`` open the door (and log) before using them."""
    appointment = calendar.get_for_dealer(session=session, principal=principal, appointment_id=appointment_id)
    if brief_service.SERVICE not in brief_service.sharing(session=session, principal=principal,
                                                          appointment_id=appointment_id):
        return None, None
    customer = customers_service.get(session=session, customer_id=appointment.customer_id)
    preferences = customers_service.get_preferences(session=session, customer_id=customer.id)
    card = dict(name=customer.full_name, email=customer.email, phone=customer.phone,
                preferred_contact=preferences.preferred_contact)
    prefs = dict(radio_presets=list(preferences.radio_presets or []),
                 navigation_favourites=list(preferences.navigation_favourites or []),
                 seat_position=dict(preferences.seat_position or {}))
    return card, prefs


def brief_for(*, session: Session, principal: Principal, appointment_id: int) -> dict:
    """The whole brief of one appointment at the principal's dealer, with its courtesy car."""
    card, prefs = owner_card(session=session, principal=principal, appointment_id=appointment_id)
    view = brief_service.brief(session=session, principal=principal, appointment_id=appointment_id,
                               preferences=prefs, customer=card, now=now())
    booking = loaners.booking_of(session=session, appointment_id=appointment_id)
    view["loaner"] = loaners.describe(session=session, booking=booking) if booking else None
    return view
