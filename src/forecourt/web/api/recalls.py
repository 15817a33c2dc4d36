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
from forecourt.workshop import recall_work

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
