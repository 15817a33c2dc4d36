"""JSON routes: sales — online orders, for the buyer (``/api/me/orders``) and the delivering dealer.

A dealer's order routes open the buyer through the consent door (``sales_contact``, given when the
order was placed): each call is in the buyer's access log, and another dealer's order is a 404.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from forecourt.assist import handover
from forecourt.core.errors import NotFound
from forecourt.customers import service as customers_service
from forecourt.sales import orders
from forecourt.payments.schemas import PaymentRequestOut
from forecourt.sales.schemas.orders import (DealerOrderLine, DealerOrderOut, DeliveryIn, OrderIn, OrderOut,
                                            PaymentIn, VehicleAssignmentIn)
from forecourt.web.deps import AppSettings, DbSession, Me, PaymentGateway, SalesStaff

router = APIRouter(prefix="/api", tags=["sales: orders"])


def _dealer_view(session, order) -> dict:
    view = orders.describe(session=session, order=order)
    try:
        view["buyer"] = (customers_service.get(session=session, customer_id=order.customer_id)
                         if order.customer_id else None)
    except NotFound:
        view["buyer"] = None
    return view


# --- the buyer -----------------------------------------------------------------------------------

@router.post("/me/orders", response_model=OrderOut, status_code=status.HTTP_201_CREATED)
def place_order(body: OrderIn, me: Me, session: DbSession, settings: AppSettings):
    order = orders.place(session=session, customer_id=me.customer_id, configuration_code=body.configuration_code,
                         dealer_id=body.dealer_id, allow_contact=body.allow_contact,
                         deposit_percent=settings.order_deposit_percent,
                         deposit_minimum=settings.order_deposit_minimum)
    return orders.describe(session=session, order=order)


@router.get("/me/orders", response_model=list[OrderOut])
def my_orders(me: Me, session: DbSession):
    return [orders.describe(session=session, order=o)
            for o in orders.list_for_customer(session=session, customer_id=me.customer_id)]


@router.get("/me/orders/{number}", response_model=OrderOut)
def my_order(number: str, me: Me, session: DbSession):
    order = orders.get_for_customer(session=session, customer_id=me.customer_id, number=number)
    return orders.describe(session=session, order=order)


@router.post("/me/orders/{number}/payments", response_model=PaymentRequestOut)
def pay_for_my_order(number: str, body: PaymentIn, me: Me, session: DbSession, gateway: PaymentGateway):
    """How to pay what is due: a card payment to confirm with the card provider, or where to pay the
    dealer. Nothing is paid by this call; the order shows money once it is confirmed or recorded."""
    return orders.start_payment(session=session, gateway=gateway, customer_id=me.customer_id, number=number,
                                kind=body.kind)


# --- the delivering dealer -----------------------------------------------------------------------

@router.get("/dealer/orders", response_model=list[DealerOrderLine])
def dealer_orders(principal: SalesStaff, session: DbSession, include_closed: bool = False):
    return [orders.describe(session=session, order=o)
            for o in orders.list_for_dealer(session=session, dealer_id=principal.organization_id,
                                            include_closed=include_closed)]


@router.get("/dealer/orders/{number}", response_model=DealerOrderOut)
def dealer_order(number: str, principal: SalesStaff, session: DbSession):
    return _dealer_view(session, orders.open_for_dealer(session=session, principal=principal, number=number))


@router.post("/dealer/orders/{number}/confirm", response_model=DealerOrderOut)
def confirm_order(number: str, principal: SalesStaff, session: DbSession):
    return _dealer_view(session, orders.confirm(session=session, principal=principal, number=number))


@router.post("/dealer/orders/{number}/vehicle", response_model=DealerOrderOut)
def assign_vehicle(number: str, body: VehicleAssignmentIn, principal: SalesStaff, session: DbSession):
    return _dealer_view(session, orders.assign_vehicle(session=session, principal=principal, number=number,
                                                       vin=body.vin, model_year=body.model_year))


@router.post("/dealer/orders/{number}/delivery", response_model=DealerOrderOut)
def schedule_delivery(number: str, body: DeliveryIn, principal: SalesStaff, session: DbSession):
    return _dealer_view(session, orders.schedule_delivery(session=session, principal=principal, number=number,
                                                          at=body.at))


@router.post("/dealer/orders/{number}/handover", response_model=DealerOrderOut)
def hand_over(number: str, principal: SalesStaff, session: DbSession):
    """The car becomes the buyer's, with the On Call subscription it was sold with."""
    return _dealer_view(session, handover.hand_over_order(session=session, principal=principal, number=number))


@router.post("/dealer/orders/{number}/cancel", response_model=DealerOrderOut)
def cancel_order(number: str, principal: SalesStaff, session: DbSession, gateway: PaymentGateway):
    """Before hand-over only; card payments are refunded at once, the till refunds what it took."""
    return _dealer_view(session, orders.cancel(session=session, gateway=gateway, principal=principal,
                                               number=number))
