"""The car books its own service: the owner's standing permission, and using it.

An owner may say once "book automatically within my availability at my dealer, tell me after, let me
move or cancel it in one click". That permission is a consent purpose (``automatic_booking``) granted
to that dealer, so it is recorded, receipted and withdrawn exactly like every other permission in the
consent ledger, and the owner's privacy page lists it. Without it a proposal waits for the owner's
click, as before. With it, a proposal at that dealer books its earliest offered time at once (the
offered times are already inside the owner's availability); the owner is told after, with the other
offered times one click away to move to, and a cancel button. A time taken a moment ago is skipped
for the next; when none is left the proposal stays open for the owner to choose.

Only the dealer named in the grant: a proposal that had to fall back on another workshop (the
owner's had no room) waits for the owner, who never agreed to be booked there.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core.clock import as_utc
from forecourt.core.errors import Invalid
from forecourt.workshop import booking
from forecourt.workshop.models import Appointment, Proposal
from forecourt.workshop.slots import Slot

PURPOSE = "automatic_booking"


def permitted(*, session: Session, customer_id: int | None, dealer_id: int) -> bool:
    """Whether the owner lets this dealer book their car's service without asking first."""
    if customer_id is None:
        return False
    return consent_service.active_grant(session=session, customer_id=customer_id, organization_id=dealer_id,
                                        purpose_code=PURPOSE) is not None


def give(*, session: Session, customer_id: int, dealer_id: int, method: str = "web-portal"):
    """The owner's standing permission for one dealer, in the consent ledger."""
    booking.bookable_dealer(session=session, dealer_id=dealer_id)
    return consent_service.give(session=session, customer_id=customer_id, organization_id=dealer_id,
                                purpose_code=PURPOSE, method=method)


def withdraw(*, session: Session, customer_id: int, dealer_id: int, method: str = "web-portal"):
    return consent_service.withdraw(session=session, customer_id=customer_id, organization_id=dealer_id,
                                    purpose_code=PURPOSE, method=method)


def dealers_permitted(*, session: Session, customer_id: int) -> set[int]:
    return {grant.organization_id for grant in consent_service.grants_of(session=session, customer_id=customer_id)
            if grant.purpose_code == PURPOSE and permitted(session=session, customer_id=customer_id,
                                                           dealer_id=grant.organization_id)}


def book_earliest(*, session: Session, proposal: Proposal) -> Appointment | None:
    """Books the proposal's earliest free time when the owner allows it; None leaves the proposal open."""
    if not permitted(session=session, customer_id=proposal.customer_id, dealer_id=proposal.dealer_id):
        return None
    offered = sorted((Slot.from_json(value) for value in proposal.slots or []), key=lambda s: (s.starts_at, s.bay))
    for slot in offered:
        try:
            appointment = booking.book(session=session, dealer_id=proposal.dealer_id, vehicle_id=proposal.vehicle_id,
                                       customer_id=proposal.customer_id, bay=slot.bay, starts_at=slot.starts_at,
                                       job=proposal.job, source="proactive", reason=proposal.reason,
                                       dtc_codes=proposal.dtc_codes or [])
        except (booking.SlotTaken, Invalid):
            continue  # taken a moment ago, or no longer bookable: the next one
        proposal.status, proposal.appointment_id, proposal.auto_booked = "booked", appointment.id, True
        session.flush()
        return appointment
    return None


def other_times(proposal: Proposal, appointment: Appointment) -> list[Slot]:
    """The times the owner can move an automatic booking to in one click: the rest of what was offered."""
    booked = (appointment.bay, as_utc(appointment.starts_at))
    return [slot for slot in (Slot.from_json(value) for value in proposal.slots or [])
            if (slot.bay, slot.starts_at) != booked]
