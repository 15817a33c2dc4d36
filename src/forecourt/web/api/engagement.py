"""JSON routes of coordinated engagement.

Partners (the carmaker, dealers, insurers, finance partners: any organization's staff) manage their
own organization's offers; another organization's offer does not exist for them (404). The driver
reads their inbox, opens a message and accepts an offer in one click, and chooses their channels and
frequency. The carmaker's administrators start a composition over every driver as a background job
(``forecourt worker`` runs it, one slice per transaction) and follow its progress.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from forecourt.core.schemas import Id
from forecourt.engagement import compose, offers, pressure, responses
from forecourt.engagement.schemas import AcceptIn, ChoiceIn, ComposeIn, MessageOut, OfferIn, OfferOut
from forecourt.engagement import kinds
from forecourt.core.errors import Invalid
from forecourt.core.i18n import _
from forecourt.parties import service as parties_service
from forecourt.web.deps import Admin, DbSession, Me, Staff

router = APIRouter(prefix="/api", tags=["engagement"])


@router.get("/offers", response_model=list[OfferOut])
def list_offers(session: DbSession, principal: Staff) -> list[dict]:
    return [offers.to_out(o) for o in offers.list_own(session=session, principal=principal)]


@router.post("/offers", response_model=OfferOut, status_code=status.HTTP_201_CREATED)
def create_offer(body: OfferIn, session: DbSession, principal: Staff) -> dict:
    return offers.to_out(offers.create(session=session, principal=principal, offer_in=body.model_dump()))


@router.get("/offers/{offer_id}", response_model=OfferOut)
def get_offer(offer_id: Id, session: DbSession, principal: Staff) -> dict:
    return offers.to_out(offers.get_own(session=session, principal=principal, offer_id=offer_id))


@router.put("/offers/{offer_id}", response_model=OfferOut)
def update_offer(offer_id: Id, body: OfferIn, session: DbSession, principal: Staff) -> dict:
    return offers.to_out(offers.update(session=session, principal=principal, offer_id=offer_id,
                                       offer_in=body.model_dump()))


@router.post("/offers/{offer_id}/withdraw", response_model=OfferOut)
def withdraw_offer(offer_id: Id, session: DbSession, principal: Staff) -> dict:
    return offers.to_out(offers.withdraw(session=session, principal=principal, offer_id=offer_id))


# --- the driver -----------------------------------------------------------------------------------

@router.get("/me/offers", response_model=list[MessageOut])
def my_inbox(session: DbSession, principal: Me) -> list[dict]:
    return [m | {"sent_at": m["sent_at"].isoformat() if m["sent_at"] else None}
            for m in responses.inbox(session=session, customer_id=principal.customer_id)]


@router.post("/me/offers/{message_id}/open", status_code=status.HTTP_204_NO_CONTENT)
def open_message(message_id: Id, session: DbSession, principal: Me) -> None:
    responses.open_message(session=session, customer_id=principal.customer_id, message_id=message_id)


@router.post("/me/offers/{message_id}/items/{item_id}/accept", status_code=status.HTTP_201_CREATED)
def accept_offer(message_id: Id, item_id: Id, body: AcceptIn, session: DbSession, principal: Me) -> dict:
    response = responses.accept(session=session, customer_id=principal.customer_id, message_id=message_id,
                                item_id=item_id, slot=body.slot)
    return {"outcome": response.outcome}


@router.get("/me/contact-choice", response_model=ChoiceIn)
def my_choice(session: DbSession, principal: Me) -> dict:
    choice = pressure.choice_of(session=session, customer_id=principal.customer_id)
    return {"email": choice.email, "per_month": choice.per_month}


@router.put("/me/contact-choice", response_model=ChoiceIn)
def set_my_choice(body: ChoiceIn, session: DbSession, principal: Me) -> dict:
    choice = pressure.set_choice(session=session, customer_id=principal.customer_id, email=body.email,
                                 per_month=body.per_month)
    return {"email": choice.email, "per_month": choice.per_month}


# --- the carmaker: a composition over every driver, in the background ------------------------------

@router.post("/admin/engagement/compositions", status_code=status.HTTP_202_ACCEPTED)
def start_composition(body: ComposeIn, session: DbSession, principal: Admin) -> dict:
    if body.kind != "all" and body.kind not in kinds.OCCASIONS:
        raise Invalid(_("Choose the occasions to compose for: all, or one of %(known)s.",
                        known=", ".join(kinds.OCCASIONS)), field="kind")
    run = compose.start_run(session=session, kind=body.kind)
    parties_service.audit(session=session, actor=principal, action="engagement.compose", target=f"run:{run.id}",
                          details={"kind": body.kind})
    return {"id": run.id, "status": run.status}


@router.get("/admin/engagement/compositions/{run_id}")
def composition(run_id: Id, session: DbSession, principal: Admin) -> dict:
    run = compose.get_run(session=session, run_id=run_id)
    return {"id": run.id, "kind": run.kind, "status": run.status, "total": run.total, "done": run.done,
            "messages": run.messages}
