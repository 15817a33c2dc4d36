"""What the workshop holds about one person, for "download my data" and erasure.

Appointments stay with the dealer's calendar and the car (who had which bay when), unlinked from the
person; the owner's availability, open proposals and loaner presets describe only the person and go.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forecourt.core.db import plain_row
from forecourt.workshop.models import Appointment, Availability, LoanerBooking, Proposal

SECTIONS = {"workshop_appointments": Appointment, "workshop_proposals": Proposal,
            "workshop_availability": Availability, "workshop_loaner_bookings": LoanerBooking}


def export_of(*, session: Session, customer_id: int) -> dict[str, list[dict]]:
    return {name: [plain_row(row) for row in session.scalars(
                select(model).where(model.customer_id == customer_id).order_by(model.id))]
            for name, model in SECTIONS.items()}


def erase_customer(*, session: Session, customer_id: int) -> dict[str, int]:
    removed = {
        "workshop_availability": session.execute(
            delete(Availability).where(Availability.customer_id == customer_id)).rowcount,
        "workshop_proposals": session.execute(
            delete(Proposal).where(Proposal.customer_id == customer_id)).rowcount,
    }
    bookings = list(session.scalars(select(LoanerBooking).where(LoanerBooking.customer_id == customer_id)))
    for booking in bookings:
        booking.customer_id, booking.preset = None, {}
    appointments = list(session.scalars(select(Appointment).where(Appointment.customer_id == customer_id)))
    for appointment in appointments:
        # what the driver wrote about the car is in their words: it goes; the ticked symptoms stay with the car
        appointment.customer_id, appointment.notes, appointment.symptom_notes = None, "", ""
    session.flush()
    return removed | {"workshop_loaner_presets": len(bookings), "workshop_appointments": len(appointments)}
