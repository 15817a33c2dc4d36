"""JSON routes: warranty cover, extended warranties, work orders and the shared service book.

Who may read a car's warranty and book, behind which door, and what a dealer gets back after writing a
work order, is the warranty desk's (``workshop/warranty_desk.py``); these routes parse, call it and
answer. A dealer only offers an extended warranty; the owner buys it in the portal.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from forecourt.core.errors import NotFound
from forecourt.core.schemas import Id
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles import warranty
from forecourt.vehicles.schemas.lifecycle import (CoverageOut, ExtendedWarrantyIn, ServiceBookEntryOut,
                                                  WarrantyContractOut, WarrantyOfferOut, WarrantyProductOut,
                                                  WarrantyTermsIn, WarrantyTermsOut, WorkOrderIn, WorkOrderOut)
from forecourt.web.deps import Admin, DbSession, DealerStaff, Me
from forecourt.web.openapi import answers
from forecourt.workshop import warranty_desk

router = APIRouter(prefix="/api", tags=["warranty"])


@router.get("/vehicles/{vin}/warranty", response_model=CoverageOut)
def vehicle_warranty(vin: str, principal: DealerStaff, session: DbSession, purpose: str | None = None,
                     work_order: str | None = None):
    return warranty_desk.dealer_coverage(session=session, principal=principal, vin=vin, purpose=purpose,
                                         work_order=work_order)


@router.get("/me/vehicles/{vin}/warranty", response_model=CoverageOut)
def my_vehicle_warranty(vin: str, me: Me, session: DbSession):
    return warranty_desk.owner_coverage(session=session, customer_id=me.customer_id, vin=vin)[0]


@router.get("/vehicles/{vin}/service-book", response_model=list[ServiceBookEntryOut])
def vehicle_service_book(vin: str, principal: DealerStaff, session: DbSession, purpose: str | None = None):
    return warranty_desk.dealer_book(session=session, principal=principal, vin=vin, purpose=purpose)[0]


@router.get("/me/vehicles/{vin}/service-book", response_model=list[ServiceBookEntryOut])
def my_service_book(vin: str, me: Me, session: DbSession):
    return warranty_desk.owner_book(session=session, customer_id=me.customer_id, vin=vin)[0]


@router.post("/vehicles/{vin}/work-orders", response_model=WorkOrderOut, status_code=status.HTTP_201_CREATED)
def record_work_order(vin: str, body: WorkOrderIn, principal: DealerStaff, session: DbSession):
    return warranty_desk.record(session=session, principal=principal, vin=vin, body=body)


@router.get("/warranty/products", response_model=list[WarrantyProductOut], responses=answers(404))
def warranty_products(session: DbSession, model_code: str | None = None):
    model_id = None
    if model_code:
        model = next((m for m in vehicles_service.list_models(session=session) if m.code == model_code), None)
        if model is None:
            raise NotFound("Model not found")
        model_id = model.id
    return warranty.list_products(session=session, model_id=model_id)


@router.post("/vehicles/{vin}/extended-warranty", response_model=WarrantyOfferOut,
             status_code=status.HTTP_201_CREATED)
def offer_extended_warranty(vin: str, body: ExtendedWarrantyIn, principal: DealerStaff, session: DbSession,
                            purpose: str | None = None, work_order: str | None = None):
    """An offer to the owner, not a sale: the owner accepts or declines it in the portal."""
    return warranty_desk.offer(session=session, principal=principal, vin=vin, product_code=body.product_code,
                               purpose=purpose, work_order=work_order)


@router.get("/me/warranty-offers", response_model=list[WarrantyOfferOut])
def my_warranty_offers(me: Me, session: DbSession):
    return warranty_desk.owner_offers(session=session, customer_id=me.customer_id)


@router.post("/me/warranty-offers/{offer_id}/accept", response_model=WarrantyContractOut)
def accept_warranty_offer(offer_id: Id, me: Me, session: DbSession):
    return warranty_desk.accept_offer(session=session, customer_id=me.customer_id, offer_id=offer_id)


@router.post("/me/warranty-offers/{offer_id}/decline", response_model=WarrantyOfferOut)
def decline_warranty_offer(offer_id: Id, me: Me, session: DbSession):
    return warranty_desk.decline_offer(session=session, customer_id=me.customer_id, offer_id=offer_id)


@router.put("/admin/warranty-terms/{model_code}", response_model=WarrantyTermsOut)
def set_warranty_terms(model_code: str, body: WarrantyTermsIn, admin: Admin, session: DbSession):
    terms = warranty.set_terms(session=session, model_code=model_code, years=body.years, km=body.km,
                               components=[c.model_dump(exclude_none=True) for c in body.components],
                               market=body.market.upper())
    parties_service.audit(session=session, actor=admin, action="warranty_terms.set", target=f"model:{model_code}",
                          details=body.model_dump())
    return terms
