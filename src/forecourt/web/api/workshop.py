"""JSON routes: the owner's service (proposals, bookings, availability) and a dealer's free workshop times.

The owner's routes are their own data (``/api/me/service``): another customer's proposal or booking
is a 404. A dealer's free times carry no customer data at all.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from forecourt.core.clock import now
from forecourt.core.schemas import Id
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.workshop import autobook, booking, proposals
from forecourt.workshop.jobs import get_job
from forecourt.workshop.schemas.booking import (AcceptIn, AppointmentOut, AutomaticBookingOut, AvailabilityIn,
                                                BookingIn, DealerSlotsOut, MoveIn, ProposalOut, ServiceOverviewOut,
                                                SlotOfferOut, WindowOut)
from forecourt.workshop.slots import free_slots
from forecourt.web.deps import DbSession, DealerStaff, Me

router = APIRouter(prefix="/api", tags=["workshop"])


def _taken(error: booking.SlotTaken) -> JSONResponse:
    """409 with the fresh times; returned rather than raised, so the refreshed proposal is committed."""
    return JSONResponse(status_code=409, content={
        "detail": [{"loc": ["body", "slot_index"], "msg": error.message, "type": "conflict"}],
        "slots": [proposals.slot_view(slot) | {"starts_at": slot.starts_at.isoformat(),
                                               "ends_at": slot.ends_at.isoformat()} for slot in error.alternatives]})


@router.get("/me/service", response_model=ServiceOverviewOut)
def my_service(me: Me, session: DbSession):
    return proposals.overview(session=session, customer_id=me.customer_id)


@router.post("/me/service/proposals/{number}/accept", response_model=AppointmentOut)
def accept_proposal(number: Id, body: AcceptIn, me: Me, session: DbSession):
    """One click: the chosen time is booked and held."""
    try:
        appointment = proposals.accept(session=session, customer_id=me.customer_id, proposal_id=number,
                                       slot_index=body.slot_index, symptom_codes=body.symptoms,
                                       symptom_notes=body.symptom_notes)
    except booking.SlotTaken as error:
        return _taken(error)
    return booking.describe(session=session, appointment=appointment)


@router.post("/me/service/proposals/{number}/decline", response_model=ProposalOut)
def decline_proposal(number: Id, me: Me, session: DbSession):
    proposal = proposals.decline(session=session, customer_id=me.customer_id, proposal_id=number)
    return proposals.describe(session=session, proposal=proposal)


@router.put("/me/service/availability", response_model=list[WindowOut])
def set_my_availability(body: AvailabilityIn, me: Me, session: DbSession):
    """When the owner can bring the car in (local time); an empty list means whenever the workshop is open."""
    return proposals.set_availability(session=session, customer_id=me.customer_id,
                                      windows=[(w.weekday, w.from_time, w.to_time) for w in body.windows])


@router.post("/me/service/bookings/{number}/cancel", response_model=AppointmentOut)
def cancel_my_booking(number: Id, me: Me, session: DbSession):
    appointment = booking.get_for_customer(session=session, customer_id=me.customer_id,
                                           appointment_id=number)
    booking.cancel(session=session, appointment=appointment, by="owner")
    return booking.describe(session=session, appointment=appointment)


@router.post("/me/service/bookings/{number}/move", response_model=AppointmentOut)
def move_my_booking(number: Id, body: MoveIn, me: Me, session: DbSession):
    """One click: the booking moves to another free time; the old time is kept if the new one was just taken."""
    appointment = booking.get_for_customer(session=session, customer_id=me.customer_id, appointment_id=number)
    booking.reschedule(session=session, appointment=appointment, bay=body.bay, starts_at=body.starts_at, by="owner")
    return booking.describe(session=session, appointment=appointment)


@router.put("/me/service/automatic-booking/{dealer_id}", response_model=AutomaticBookingOut)
def allow_automatic_booking(dealer_id: Id, me: Me, session: DbSession):
    """The standing permission: this dealer books the earliest time within the owner's availability and
    tells them after. Recorded in the consent ledger like any other permission."""
    autobook.give(session=session, customer_id=me.customer_id, dealer_id=dealer_id, method="api")
    return {"dealer_id": dealer_id, "granted": True}


@router.delete("/me/service/automatic-booking/{dealer_id}", response_model=AutomaticBookingOut)
def withdraw_automatic_booking(dealer_id: Id, me: Me, session: DbSession):
    autobook.withdraw(session=session, customer_id=me.customer_id, dealer_id=dealer_id, method="api")
    return {"dealer_id": dealer_id, "granted": False}


@router.get("/me/service/vehicles/{vin}/slots", response_model=SlotOfferOut)
def my_slots(vin: str, me: Me, session: DbSession, job: str = Query("inspection", max_length=24),
             dealer_id: Id | None = None):
    """Free times for one of the owner's cars: at the dealer given, else at the one Forecourt picks (and why)."""
    near = customers_service.home_position(session=session, customer_id=me.customer_id)
    found = proposals.offer(session=session, customer_id=me.customer_id, vin=vin, job=job, dealer_id=dealer_id,
                            customer_position=near)
    dealer = found["dealer"]
    return {"dealer": booking.dealer_card(dealer) if dealer else None, "reason": found["reason"],
            "job": found["job"].code, "slots": found["slots"]}


@router.post("/me/service/vehicles/{vin}/bookings", response_model=AppointmentOut,
             status_code=status.HTTP_201_CREATED)
def book_my_car(vin: str, body: BookingIn, me: Me, session: DbSession):
    appointment = proposals.book_for_owner(session=session, customer_id=me.customer_id, vin=vin, job=body.job,
                                           dealer_id=body.dealer_id, bay=body.bay, starts_at=body.starts_at,
                                           symptom_codes=body.symptoms, symptom_notes=body.symptom_notes)
    return booking.describe(session=session, appointment=appointment)


@router.get("/workshop/slots", response_model=DealerSlotsOut)
def dealer_free_slots(principal: DealerStaff, session: DbSession, job: str = Query("inspection", max_length=24),
                      days: int = Query(7, ge=1, le=60), limit: int = Query(50, ge=1, le=500)):
    """The caller's own dealer's free times for a job: bays × hours × duration, minus what is booked."""
    dealer = parties_service.get_organization(session=session, organization_id=principal.organization_id)
    chosen = get_job(job)
    found = free_slots(session=session, dealer=dealer, job=chosen, after=now(), days=days, limit=limit)
    return {"dealer_id": dealer.id, "job": chosen.code, "duration_minutes": chosen.steps * 30,
            "slots": [proposals.slot_view(slot) for slot in found]}
