"""JSON routes: recalls (the carmaker's campaigns, a dealer's check-in flags and remedies) and the
owner's messages (recall notices and other in-app messages).

No route here returns an owner: the campaign figures are counts, a check-in flag names the car's open
recalls only, and the inbox is the caller's own.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status

from forecourt.core.schemas import Id, Output
from forecourt.messaging import notify
from forecourt.vehicles import recall_desk, recalls
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.schemas.recalls import (RecallCampaignIn, RecallCheckOut, RecallClosedOut, RecallCloseIn,
                                                RecallOpenedOut, RecallProgressOut, RecallSummaryOut, RemedyIn,
                                                RemedyOut)
from forecourt.web.deps import Admin, DbSession, DealerStaff, Me
from forecourt.workshop import booking, proposals, recall_work
from forecourt.workshop.schemas.booking import AppointmentOut, RecallBookingIn, RecallOfferOut

router = APIRouter(prefix="/api", tags=["recalls"])


@router.post("/admin/recalls", response_model=RecallOpenedOut, status_code=status.HTTP_201_CREATED)
def open_campaign(body: RecallCampaignIn, admin: Admin, session: DbSession):
    result = recall_desk.open_and_audit(session=session, admin=admin, body=body)
    return {"code": result["campaign"].code, "affected": result["affected"], "notified": result["notified"],
            "owner_unknown": result["owner_unknown"]}


@router.get("/admin/recalls", response_model=list[RecallSummaryOut])
def campaigns(admin: Admin, session: DbSession):
    return recalls.list_campaigns(session=session)


@router.get("/admin/recalls/{code}", response_model=RecallProgressOut)
def campaign(code: str, admin: Admin, session: DbSession):
    return recall_desk.progress_of(session=session, code=code)


@router.post("/admin/recalls/{code}/close", response_model=RecallClosedOut)
def close_campaign(code: str, body: RecallCloseIn, admin: Admin, session: DbSession):
    """Closed or superseded: the completion figures are frozen as they stand now."""
    result = recall_desk.close_and_audit(session=session, admin=admin, code=code, body=body)
    campaign = result["campaign"]
    return {"code": campaign.code, "outcome": campaign.outcome, "closed_at": campaign.closed_at,
            "superseded_by": result["successor"].code if result["successor"] else None,
            "affected": result["affected"], "remedied": result["remedied"], "open": result["open"]}


@router.get("/recalls/check/{vin}", response_model=RecallCheckOut)
def check_in(vin: str, dealer: DealerStaff, session: DbSession):
    """What any workshop must know when the car rolls in; the car's recalls, never its owner."""
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    return {"vin": vehicle.vin, "open_recalls": recalls.check_in_flags(session=session, vin=vehicle.vin)}


@router.post("/recalls/{code}/remedies", response_model=RemedyOut, status_code=status.HTTP_201_CREATED)
def record_remedy(code: str, body: RemedyIn, dealer: DealerStaff, session: DbSession):
    """Only on a car the dealer has a real relationship with (booked in, sold, serviced, in stock): else 404."""
    return recall_work.record_remedy(session=session, principal=dealer, campaign_code=code, vin=body.vin,
                                 performed_on=body.performed_on, odometer_km=body.odometer_km)


# --- the owner books the remedy -------------------------------------------------------------------

def _offer_view(session, offer: dict) -> dict:
    campaign = offer["campaign"]
    view = {"code": campaign.code, "title": campaign.title, "severity": campaign.severity,
            "critical": offer["critical"], "remedy": campaign.remedy, "labour_minutes": campaign.labour_minutes}
    if offer["booked"] is not None:
        return view | {"booked": offer["booked"]}
    dealer = offer.get("dealer")
    return view | {"dealer": booking.dealer_card(dealer) if dealer else None, "reason": offer.get("reason", ""),
                   "slots": [proposals.slot_view(slot) for slot in offer.get("slots", [])]}


@router.get("/me/vehicles/{vin}/recalls", response_model=list[RecallOfferOut], tags=["recalls"])
def my_recall_offers(vin: str, me: Me, session: DbSession):
    """The car's open recalls, each with its booking or the free times for its fix (a critical recall's
    earliest first); a car that is not the caller's is 404."""
    vehicle = recall_work.owned_car(session=session, customer_id=me.customer_id, vin=vin)
    return [_offer_view(session, offer)
            for offer in recall_work.offers_for_owner(session=session, customer_id=me.customer_id, vehicle=vehicle)]


@router.post("/me/vehicles/{vin}/recalls/{code}/booking", response_model=AppointmentOut,
             status_code=status.HTTP_201_CREATED, tags=["recalls"])
def book_my_recall_remedy(vin: str, code: str, body: RecallBookingIn, me: Me, session: DbSession):
    """The one click of the recall notice: the remedy's job time holds the bay; 409 if already booked or
    the time was just taken, 404 for a car that is not the caller's or a recall not open on it."""
    appointment = recall_work.book_remedy(session=session, customer_id=me.customer_id, vin=vin, code=code,
                                          dealer_id=body.dealer_id, bay=body.bay, starts_at=body.starts_at,
                                          symptom_codes=body.symptoms, symptom_notes=body.symptom_notes)
    return booking.describe(session=session, appointment=appointment)


# --- the owner's messages ------------------------------------------------------------------------

class MessageOut(Output):
    id: int
    topic: str
    subject: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


class InboxOut(Output):
    unread: int
    messages: list[MessageOut]


@router.get("/me/messages", response_model=InboxOut, tags=["messages"])
def my_messages(me: Me, session: DbSession):
    return {"unread": notify.unread_count(session=session, customer_id=me.customer_id),
            "messages": notify.inbox(session=session, customer_id=me.customer_id)}


@router.post("/me/messages/{number}/read", response_model=MessageOut, tags=["messages"])
def read_message(number: Id, me: Me, session: DbSession):
    """``number`` is the message's number in the inbox; another customer's message does not exist here."""
    return notify.mark_read(session=session, customer_id=me.customer_id, message_id=number)
