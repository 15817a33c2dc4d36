"""Recall work in the workshop: the driver books the remedy in one click, the dealer records it.

The remedy is booked like any visit, with the campaign's labour time as the job's length, so the bay
is held for as long as the fix takes; the appointment names the campaign, so the advisor's brief and
the dealer's remedy page know why the car comes. The owner's own workshop is offered first (the
nearest one with a free bay otherwise), inside the times the owner said they can come. A critical
recall ("stop driving until fixed") does not wait for the owner's usual times: its earliest free
slot comes first.

Recording the remedy needs the dealer's real relationship with the car (``visits.require_relationship``):
any dealer of the network carries out recalls, but only on a car booked in there, sold or serviced by
it, or in its stock.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, NotFound
from forecourt.core.i18n import _
from forecourt.vehicles import recalls
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop import booking, proposals, visits
from forecourt.workshop.jobs import Job, get_job
from forecourt.workshop.models import Appointment
from forecourt.workshop.slots import choose_dealer

CRITICAL = "critical"
LIVE = ("confirmed", "checked_in")
MAX_MINUTES = 8 * 60  # a workshop day: longer remedies are planned by the advisor


def remedy_job(campaign) -> Job:
    """The campaign's labour time as the job's length (what the bay is held for)."""
    return get_job("recall", recall_minutes=min(campaign.labour_minutes or 60, MAX_MINUTES))


def _owned_car(session: Session, customer_id: int, vin: str) -> tuple:
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    ownership = vehicles_service.owned_by(session=session, customer_id=customer_id, vehicle=vehicle)
    if ownership.ended_at is not None:
        raise NotFound("Vehicle not found")  # a former owner's recall is the new owner's to book
    return vehicle, ownership.customer_id


def owned_car(*, session: Session, customer_id: int, vin: str) -> object:
    """The caller's current car, or 404 (someone else's car, or one they no longer own)."""
    return _owned_car(session, customer_id, vin)[0]


def _open_recall(session: Session, vehicle, code: str) -> object:
    found = next((c for c in recalls.open_recalls_for(session=session, vehicle_id=vehicle.id)
                  if c.code == (code or "").strip().upper()), None)
    if found is None:
        raise NotFound("Recall campaign not found")
    return found


def booked_for(*, session: Session, vehicle_id: int, campaign_id: int) -> Appointment | None:
    """The live appointment already booked for this recall on this car, if any."""
    found = session.scalars(select(Appointment).where(
        Appointment.vehicle_id == vehicle_id, Appointment.status.in_(LIVE), Appointment.ends_at > now())
        .order_by(Appointment.starts_at))
    return next((a for a in found if campaign_id in (a.recall_campaign_ids or [])), None)


def remedy_offer(*, session: Session, customer_id: int, vehicle, campaign,
                 limit: int = 4) -> dict:
    """What the car page offers for one open recall: the booking already made, or free slots."""
    appointment = booked_for(session=session, vehicle_id=vehicle.id, campaign_id=campaign.id)
    critical = campaign.severity == CRITICAL
    if appointment is not None:
        return {"campaign": campaign, "critical": critical, "booked": booking.describe(session=session,
                                                                                       appointment=appointment)}
    availability = None if critical else proposals.availability_of(session=session, customer_id=customer_id)
    choice = choose_dealer(session=session, vehicle=vehicle, customer_position=None, job=remedy_job(campaign),
                           availability=availability or None, limit=limit, per_day=None if critical else 2)
    return {"campaign": campaign, "critical": critical, "booked": None, "dealer": choice.dealer,
            "slots": choice.slots, "reason": choice.reason}


def offer_for_notice(*, session: Session, customer_id: int, vehicle_id: int, code: str) -> dict | None:
    """The offer a recall notice in the owner's inbox carries, while the car is theirs and the recall open."""
    if vehicles_service.current_owner_id(session=session, vehicle_id=vehicle_id) != customer_id:
        return None
    vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
    try:
        campaign = _open_recall(session, vehicle, code)
    except NotFound:
        return None  # remedied, closed or superseded since the notice
    return remedy_offer(session=session, customer_id=customer_id, vehicle=vehicle, campaign=campaign, limit=1) | {
        "vin": vehicle.vin}


def offers_for_owner(*, session: Session, customer_id: int, vehicle, open_recalls: list | None = None) -> list[dict]:
    """``open_recalls``: the car's open campaigns, when the caller has read them already."""
    if open_recalls is None:
        open_recalls = recalls.open_recalls_for(session=session, vehicle_id=vehicle.id)
    return [remedy_offer(session=session, customer_id=customer_id, vehicle=vehicle, campaign=campaign)
            for campaign in open_recalls]


def book_remedy(*, session: Session, customer_id: int, vin: str, code: str, dealer_id: int, bay: int,
                starts_at: datetime, symptom_codes=(), symptom_notes: str = "") -> Appointment:
    """The owner's one click: the slot is held for the campaign's labour time and names the recall.

    What the driver noticed (``symptom_codes``/``symptom_notes``, optional) reaches the advisor's brief."""
    vehicle, owner = _owned_car(session, customer_id, vin)
    campaign = _open_recall(session, vehicle, code)
    if booked_for(session=session, vehicle_id=vehicle.id, campaign_id=campaign.id) is not None:
        raise Conflict(_("The fix for recall %(code)s is already booked; move or cancel that booking instead.",
                         code=campaign.code), field="code")
    appointment = booking.book(session=session, dealer_id=dealer_id, vehicle_id=vehicle.id, customer_id=owner,
                               bay=bay, starts_at=starts_at, job=remedy_job(campaign), source="owner",
                               reason=_("Recall %(code)s: %(title)s", code=campaign.code, title=campaign.title),
                               recall_campaign_ids=[campaign.id], symptom_codes=symptom_codes,
                               symptom_notes=symptom_notes)
    # a car booked in for the fix is not reminded; cancelling the booking (booking.cancel) undoes this
    recalls.mark_booked(session=session, campaign_id=campaign.id, vehicle_id=vehicle.id)
    session.flush()
    return appointment


# --- the dealer's side -------------------------------------------------------------------------------

def car_for_remedy(*, session: Session, principal: Principal, vin: str) -> object:
    """The car, if this dealer may work on it; 404 otherwise, as if it did not exist."""
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    return visits.require_relationship(session=session, principal=principal, vehicle=vehicle)


def record_remedy(*, session: Session, principal: Principal, campaign_code: str, vin: str, performed_on: date,
                  odometer_km: int) -> object:
    """The dealer carried out the recall work on a car it has a relationship with; the booking that
    brought the car in for it is done."""
    recalls.get_campaign(session=session, code=campaign_code)  # an unknown campaign is 404 for everyone
    vehicle = car_for_remedy(session=session, principal=principal, vin=vin)
    record = recalls.record_remedy(session=session, principal=principal, campaign_code=campaign_code,
                                   vin=vehicle.vin, performed_on=performed_on, odometer_km=odometer_km)
    for appointment in session.scalars(select(Appointment).where(
            Appointment.vehicle_id == vehicle.id, Appointment.dealer_id == principal.organization_id,
            Appointment.status.in_(LIVE))):
        if record.recall_campaign_id in (appointment.recall_campaign_ids or []) \
                and as_utc(appointment.starts_at) <= now():
            appointment.status = "done"
    session.flush()
    return record


def open_recalls_at(*, session: Session, principal: Principal, vehicle) -> list[dict]:
    """The car's open recalls for the dealer's remedy page, each with this dealer's booking for it."""
    rows = []
    for campaign in recalls.open_recalls_for(session=session, vehicle_id=vehicle.id):
        appointment = booked_for(session=session, vehicle_id=vehicle.id, campaign_id=campaign.id)
        mine = appointment if appointment is not None and appointment.dealer_id == principal.organization_id else None
        rows.append({"campaign": campaign, "appointment": mine})
    return rows

