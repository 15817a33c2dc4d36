"""JSON routes: On Call — dispatch. Agents find and send help; the receiving dealer sees the car coming.

Thin: the rules are in ``assist.dispatch``. The owner's name and phone reach the dealer only when
``incoming_for`` passed the consent door (service reminders granted to that dealer).
"""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from forecourt.assist import dispatch as dispatch_service
from forecourt.assist.dispatch_schemas import DispatchIn, DispatchOut, IncomingOut, ProvidersOut
from forecourt.core.clock import now
from forecourt.core.schemas import Id
from forecourt.customers import service as customers_service
from forecourt.web.deps import Agent, DbSession, DealerStaff

router = APIRouter(prefix="/api", tags=["on call: dispatch"])


@router.get("/cases/{number}/providers", response_model=ProvidersOut)
def providers(number: str, agent: Agent, session: DbSession):
    case = dispatch_service.case_by_number(session=session, number=number)
    return dispatch_service.providers_for(session=session, case_id=case.id, now=now())


@router.post("/cases/{number}/dispatches", response_model=DispatchOut, status_code=status.HTTP_201_CREATED)
def send(number: str, body: DispatchIn, agent: Agent, session: DbSession):
    case = dispatch_service.case_by_number(session=session, number=number)
    return dispatch_service.dispatch(session=session, principal=agent, case_id=case.id,
                                     provider_id=body.provider_id, kind=body.kind)


def with_customers(session: Session, items: list[dict]) -> list[dict]:
    """Adds the owner's name and contact to the items whose owner allowed it (``customer_id`` set)."""
    shown = []
    for item in items:
        customer = None
        if item["customer_id"] is not None:
            found = customers_service.get(session=session, customer_id=item["customer_id"])
            customer = {"name": f"{found.first_name or ''} {found.last_name or ''}".strip(), "phone": found.phone,
                        "email": found.email}
        shown.append(item | {"customer": customer})
    return shown


@router.get("/dealer/incoming", response_model=list[IncomingOut])
def incoming(dealer: DealerStaff, session: DbSession):
    return with_customers(session, dispatch_service.incoming_for(session=session, principal=dealer, now=now()))


@router.post("/dealer/incoming/{dispatch_id}/arrived", response_model=DispatchOut)
def arrived(dispatch_id: Id, dealer: DealerStaff, session: DbSession):
    return dispatch_service.mark_arrived(session=session, principal=dealer, dispatch_id=dispatch_id, now=now())
