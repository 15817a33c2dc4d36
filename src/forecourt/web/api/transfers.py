"""JSON routes: a car changing hands outside the order flow.

The owner starts a sale and gets a code for the buyer; a driver accepts it as a private sale, a
dealer's sales team as a trade-in. The carmaker corrects a wrong registration with a reason. Every
change is dated by the server (a correction may name an earlier moment inside the car's history).
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.customers import service as customers_service
from forecourt.privacy.schemas import VehicleWithOwnership
from forecourt.sales import transfers
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.schemas.cars import (OwnershipCorrectionIn, OwnershipOut, PendingSaleOut, SaleCodeIn,
                                             SaleStartOut, VehicleOut)
from forecourt.web.deps import Admin, DbSession, Me, SalesStaff
from forecourt.web.serialise import vehicle_with_ownership

router = APIRouter(prefix="/api", tags=["ownership"])


def _pending_out(session, transfer) -> dict:
    vehicle = vehicles_service.get(session=session, vehicle_id=transfer.vehicle_id)
    return dict(id=transfer.id, vin=vehicle.vin, created_at=transfer.created_at, expires_at=transfer.expires_at)


@router.post("/me/vehicles/{vin}/sale", response_model=SaleStartOut, status_code=status.HTTP_201_CREATED)
def start_sale(vin: str, me: Me, session: DbSession):
    """The owner sells their car: give the code to the buyer, who accepts it in their portal (or a
    dealer, taking it in trade). It is shown only now."""
    transfer, code = transfers.start_sale(session=session, customer_id=me.customer_id, vin=vin)
    return _pending_out(session, transfer) | {"code": code}


@router.get("/me/sales", response_model=list[PendingSaleOut])
def my_pending_sales(me: Me, session: DbSession):
    return [_pending_out(session, t) for t in transfers.pending_of(session=session, customer_id=me.customer_id)]


@router.delete("/me/sales/{transfer_id}", status_code=status.HTTP_204_NO_CONTENT)
def cancel_sale(transfer_id: Id, me: Me, session: DbSession) -> Response:
    transfers.cancel_sale(session=session, customer_id=me.customer_id, transfer_id=transfer_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/me/purchases", response_model=VehicleWithOwnership, status_code=status.HTTP_201_CREATED)
def accept_purchase(body: SaleCodeIn, me: Me, session: DbSession):
    """The buyer accepts the seller's code: the car is theirs from now."""
    ownership = transfers.accept_as_buyer(session=session, customer_id=me.customer_id, code=body.code)
    return vehicle_with_ownership(vehicles_service.get(session=session, vehicle_id=ownership.vehicle_id), ownership)


@router.post("/dealer/trade-ins", response_model=VehicleOut, status_code=status.HTTP_201_CREATED)
def accept_trade_in(body: SaleCodeIn, principal: SalesStaff, session: DbSession):
    """A dealer takes a car in trade with the code its owner gave: it joins the dealer's stock."""
    return transfers.accept_trade_in(session=session, principal=principal, code=body.code)


@router.post("/admin/vehicles/{vin}/ownership", response_model=OwnershipOut | None)
def correct_owner(vin: str, body: OwnershipCorrectionIn, admin: Admin, session: DbSession):
    """The carmaker corrects a wrong registration; audited, and both owners are told."""
    if body.customer_id is not None:
        try:
            customers_service.get(session=session, customer_id=body.customer_id)
        except NotFound:
            raise Invalid(_("There is no such customer."), field="customer_id") from None
    try:
        return transfers.correct_owner(session=session, principal=admin, vin=vin, customer_id=body.customer_id,
                                       reason=body.reason, at=body.effective_at)
    except Invalid as problem:  # the service calls the moment ``at``; the body calls it ``effective_at``
        raise Invalid(problem.message, field="effective_at" if problem.field == "at" else problem.field) from None
