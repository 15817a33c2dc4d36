"""JSON routes: On Call — dispatch. Agents find and send help; the provider answers; the receiving
dealer sees the car coming.

Thin: the rules are in ``assist.dispatch`` and ``assist.providers``. The owner's name and phone reach
the dealer only when ``incoming_for`` passed the consent door (service reminders granted to that dealer).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from forecourt.assist import dispatch as dispatch_service
from forecourt.assist import providers as providers_service
from forecourt.assist.schemas.dispatch import DispatchAnswerIn, DispatchIn, DispatchOut, IncomingOut, ProvidersOut
from forecourt.core.clock import now
from forecourt.core.errors import NotFound
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.web.api.telemetry import raw_body
from forecourt.web.deps import Agent, AppSettings, DbSession, DealerStaff, MaybePrincipal

router = APIRouter(prefix="/api", tags=["on call: dispatch"])


@router.get("/cases/{number}/providers", response_model=ProvidersOut)
def providers(number: str, agent: Agent, session: DbSession):
    case = dispatch_service.case_by_number(session=session, number=number)
    return dispatch_service.providers_for(session=session, case_id=case.id, now=now())


@router.post("/cases/{number}/dispatches", response_model=DispatchOut, status_code=status.HTTP_201_CREATED)
def send(number: str, body: DispatchIn, agent: Agent, session: DbSession, settings: AppSettings):
    case = dispatch_service.case_by_number(session=session, number=number)
    return dispatch_service.dispatch(session=session, principal=agent, case_id=case.id,
                                     provider_id=body.provider_id, kind=body.kind, portal_url=settings.portal_url)


@router.post("/dispatches/{dispatch_id}/answer", response_model=DispatchOut,
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": DispatchAnswerIn.model_json_schema()}}}})
def answer(dispatch_id: Id, request: Request, session: DbSession, caller: MaybePrincipal,
           body: bytes = Depends(raw_body)):
    """The provider accepts or declines: as its own staff (bearer token), or from its dispatch system
    with a callback signed like our notices (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)."""
    if "webhook-signature" in request.headers:
        provider_id = providers_service.signed_by_provider(session=session, dispatch_id=dispatch_id, body=body,
                                                   headers=dict(request.headers))
        if provider_id is None:
            raise HTTPException(status_code=401, detail=_("The signature does not match, or it is older than five "
                                                        "minutes."))
        via = "signed-callback"
    elif caller is None:
        raise HTTPException(status_code=401, detail=_("Log in first, or sign the callback"),
                            headers={"WWW-Authenticate": "Bearer"})
    elif caller.is_customer or caller.organization_id is None:
        raise NotFound("Dispatch not found")
    else:
        provider_id, via = caller.organization_id, "api"
    try:
        given = DispatchAnswerIn.model_validate_json(body or b"{}")
    except ValidationError as error:
        raise RequestValidationError([e | {"loc": ("body", *e["loc"])} for e in error.errors()]) from None
    return providers_service.answer(session=session, dispatch_id=dispatch_id, provider_id=provider_id, answer=given.answer,
                            note=given.note, eta_minutes=given.eta_minutes, via=via)


@router.get("/dealer/incoming", response_model=list[IncomingOut])
def incoming(dealer: DealerStaff, session: DbSession):
    return dispatch_service.incoming_with_owners(session=session, principal=dealer, now=now())


@router.post("/dealer/incoming/{dispatch_id}/arrived", response_model=DispatchOut)
def arrived(dispatch_id: Id, dealer: DealerStaff, session: DbSession):
    return dispatch_service.mark_arrived(session=session, principal=dealer, dispatch_id=dispatch_id, now=now())
