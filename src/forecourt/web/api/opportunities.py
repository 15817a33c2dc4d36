"""JSON routes: sales — opportunities, quotes, the dealer's stages and targets (sales reps only).

A deal about a person opens through the consent door (sales contact): without the customer's grant
it is a 404, like a deal of another dealer.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, status

from forecourt.core.schemas import Id
from forecourt.sales import opportunities as opportunities_service
from forecourt.sales import quotes as quotes_service
from forecourt.sales import stages as stages_service
from forecourt.sales import targets as targets_service
from forecourt.sales.schemas.opportunities import (ActivityIn, ActivityOut, LostIn, OpportunityDetail, OpportunityIn,
                                                   OpportunityOut, OpportunityUpdate, QuoteIn, QuoteOut, StageMoveIn,
                                                   StagesIn, StagesOut, TargetIn, TargetOut)
from forecourt.web.deps import DbSession, SalesStaff

router = APIRouter(prefix="/api", tags=["sales: opportunities"])


@router.get("/opportunities", response_model=list[OpportunityOut])
def list_opportunities(principal: SalesStaff, session: DbSession, stage: str | None = None,
                       state: Literal["open", "won", "lost", "all"] = Query(default="open", alias="status"),
                       owner: str | None = Query(default=None, pattern=r"^(me|[0-9]{1,18})$")):
    """``owner``: ``me`` or a rep's user id. Status ``all`` lists closed deals too."""
    owner_id = principal.user_id if owner == "me" else (int(owner) if owner else None)
    return opportunities_service.list_for_dealer(session=session, principal=principal, stage=stage,
                                                 status=None if state == "all" else state, owner_user_id=owner_id)


@router.post("/opportunities", response_model=OpportunityOut, status_code=status.HTTP_201_CREATED)
def create_opportunity(body: OpportunityIn, principal: SalesStaff, session: DbSession):
    return opportunities_service.create(session=session, principal=principal, values=body.model_dump())


@router.post("/leads/{lead_id}/convert", response_model=OpportunityOut, status_code=status.HTTP_201_CREATED)
def convert_lead(lead_id: Id, principal: SalesStaff, session: DbSession):
    return opportunities_service.open_from_lead(session=session, principal=principal, lead_id=lead_id)


@router.get("/opportunities/{opportunity_id}", response_model=OpportunityDetail)
def get_opportunity(opportunity_id: Id, principal: SalesStaff, session: DbSession):
    return opportunities_service.detail(session=session, principal=principal, opportunity_id=opportunity_id)


@router.patch("/opportunities/{opportunity_id}", response_model=OpportunityOut)
def update_opportunity(opportunity_id: Id, body: OpportunityUpdate, principal: SalesStaff, session: DbSession):
    return opportunities_service.update(session=session, principal=principal, opportunity_id=opportunity_id,
                                        changes=body.model_dump(exclude_unset=True))


@router.post("/opportunities/{opportunity_id}/stage", response_model=OpportunityOut)
def move_opportunity(opportunity_id: Id, body: StageMoveIn, principal: SalesStaff, session: DbSession):
    return opportunities_service.move(session=session, principal=principal, opportunity_id=opportunity_id,
                                      stage_code=body.stage_code)


@router.post("/opportunities/{opportunity_id}/won", response_model=OpportunityOut)
def win_opportunity(opportunity_id: Id, principal: SalesStaff, session: DbSession):
    return opportunities_service.win(session=session, principal=principal, opportunity_id=opportunity_id)


@router.post("/opportunities/{opportunity_id}/lost", response_model=OpportunityOut)
def lose_opportunity(opportunity_id: Id, body: LostIn, principal: SalesStaff, session: DbSession):
    return opportunities_service.lose(session=session, principal=principal, opportunity_id=opportunity_id,
                                      reason=body.reason, post_mortem=body.post_mortem)


@router.post("/opportunities/{opportunity_id}/activities", response_model=ActivityOut,
             status_code=status.HTTP_201_CREATED)
def log_activity(opportunity_id: Id, body: ActivityIn, principal: SalesStaff, session: DbSession):
    return opportunities_service.log_activity(session=session, principal=principal, opportunity_id=opportunity_id,
                                              **body.model_dump())


@router.post("/opportunities/{opportunity_id}/quotes", response_model=QuoteOut, status_code=status.HTTP_201_CREATED)
def add_quote(opportunity_id: Id, body: QuoteIn, principal: SalesStaff, session: DbSession):
    return quotes_service.add_quote(session=session, principal=principal, opportunity_id=opportunity_id,
                                    lines=[line.model_dump() for line in body.lines], valid_until=body.valid_until,
                                    note=body.note)


@router.post("/opportunities/{opportunity_id}/quotes/{version}/send", response_model=QuoteOut)
def send_quote(opportunity_id: Id, version: Id, principal: SalesStaff, session: DbSession):
    return quotes_service.send(session=session, principal=principal, opportunity_id=opportunity_id, version=version)


@router.post("/opportunities/{opportunity_id}/quotes/{version}/accept", response_model=QuoteOut)
def accept_quote(opportunity_id: Id, version: Id, principal: SalesStaff, session: DbSession):
    return quotes_service.accept(session=session, principal=principal, opportunity_id=opportunity_id,
                                 version=version)


@router.get("/stages", response_model=StagesOut)
def get_stages(principal: SalesStaff, session: DbSession):
    return StagesOut(own=stages_service.has_own_stages(session=session, dealer_id=principal.organization_id),
                     stages=stages_service.stages_for(session=session, dealer_id=principal.organization_id))


@router.put("/stages", response_model=StagesOut)
def put_stages(body: StagesIn, principal: SalesStaff, session: DbSession):
    saved = stages_service.save_dealer_stages(session=session, dealer_id=principal.organization_id,
                                              stages=[s.model_dump() for s in body.stages], won_name=body.won_name,
                                              lost_name=body.lost_name)
    return StagesOut(own=True, stages=saved)


@router.get("/targets", response_model=list[TargetOut])
def get_targets(principal: SalesStaff, session: DbSession, month_from: str | None = None, month_to: str | None = None):
    return targets_service.targets_for(session=session, dealer_id=principal.organization_id, month_from=month_from,
                                       month_to=month_to)


@router.put("/targets", response_model=TargetOut)
def put_target(body: TargetIn, principal: SalesStaff, session: DbSession):
    return targets_service.set_target(session=session, dealer_id=principal.organization_id, month=body.month,
                                      units=body.units, value=body.value, user_id=body.user_id)
