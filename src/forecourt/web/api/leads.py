"""JSON routes: sales — leads. Anyone may ask a dealer; a rep reads only leads whose person allowed it."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from forecourt.core.i18n import _
from forecourt.core.schemas import Id, Offset
from forecourt.sales import intake
from forecourt.sales import leads as leads_service
from forecourt.sales import scoring
from forecourt.sales.schemas.leads import (LeadIn, LeadOut, LeadPage, LeadReceived, LeadStatusIn, MergeIn,
                                           RescoreOut)
from forecourt.web.deps import DbSession, MaybePrincipal, SalesStaff
from forecourt.web.openapi import answers

router = APIRouter(prefix="/api", tags=["sales: leads"])


@router.post("/leads", response_model=LeadReceived, status_code=status.HTTP_201_CREATED,
             responses=answers(404))
def take_lead(body: LeadIn, session: DbSession, principal: MaybePrincipal):
    taken = intake.take_lead(session=session, source=None, principal=principal,
                             **body.model_dump(exclude={"email"}), email=str(body.email) if body.email else None)
    if taken.contact_allowed:
        then = ""
    elif taken.confirmation_requested:
        then = " " + _("We have sent you an e-mail: follow its link to let them contact you.")
    else:
        then = " " + _("They will see it once you allow them to contact you.")
    return LeadReceived(dealer_id=taken.dealer.id, dealer_name=taken.dealer.name, routed_by=taken.lead.routed_by,
                        routing_reason=taken.lead.routing_reason, contact_allowed=taken.contact_allowed,
                        confirmation_requested=taken.confirmation_requested,
                        message=_("Thank you. %(dealer)s has your request.", dealer=taken.dealer.name) + then)


@router.get("/leads", response_model=LeadPage)
def list_leads(principal: SalesStaff, session: DbSession, status: str | None = None, source: str | None = None,
               purpose: str = leads_service.PURPOSE, limit: int = Query(default=50, ge=1, le=200),
               offset: Offset = 0):
    items, total, waiting = leads_service.list_leads(session=session, principal=principal, status=status,
                                                     source=source, purpose=purpose, limit=limit, offset=offset)
    return LeadPage(items=items, total=total, waiting_for_permission=waiting, limit=limit, offset=offset)


@router.post("/leads/rescore", response_model=RescoreOut)
def rescore(principal: SalesStaff, session: DbSession):
    """Scores the dealer's open leads again with what its won and lost deals say today."""
    return RescoreOut(rescored=scoring.rescore_open(session=session, dealer_id=principal.organization_id))


@router.get("/leads/{lead_id}", response_model=LeadOut)
def lead_detail(lead_id: Id, principal: SalesStaff, session: DbSession):
    return leads_service.view(session=session, principal=principal, lead_id=lead_id)


@router.patch("/leads/{lead_id}", response_model=LeadOut)
def change_status(lead_id: Id, body: LeadStatusIn, principal: SalesStaff, session: DbSession):
    lead = leads_service.set_status(session=session, principal=principal, lead_id=lead_id, status=body.status)
    return leads_service.view(session=session, principal=principal, lead_id=lead_id, lead=lead)


@router.post("/leads/{lead_id}/merge", response_model=LeadOut)
def merge(lead_id: Id, body: MergeIn, principal: SalesStaff, session: DbSession):
    lead = leads_service.merge(session=session, principal=principal, keep_id=lead_id,
                               duplicate_id=body.duplicate_id)
    return leads_service.view(session=session, principal=principal, lead_id=lead_id, lead=lead)
